import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelayError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';
import { DEFAULT_SELLER_USER } from '../../../sandbox/salesforce/users.ts';
import { createSalesforceRestSandbox } from '../../../sandbox/salesforce/rest.ts';
import { silentLogger } from '../../logger.ts';
import { classifySalesforceError, createSalesforceAdapter, dealChangeOf } from './adapter.ts';

const OPPORTUNITY = '006Sb0000000001AAA';

test('a Referral_Sync__e becomes a deal change: the snapshot as an object, CreatedDate as its time; a snapshot that is not a JSON object is left out', () => {
  const event = {
    Opportunity_Id__c: OPPORTUNITY,
    Change_Kind__c: 'Updated',
    Changed_Fields__c: 'Amount,Description',
    Changed_By__c: '005Sb0000000001AAA',
    CreatedDate: 0,
    CreatedById: '005Sb0000000001AAA',
  };
  assert.deepEqual(dealChangeOf({ ...event, Record_Snapshot__c: '{"Id":"x","Amount":5}' }), {
    dealId: OPPORTUNITY,
    changeKind: 'Updated',
    changedFields: ['Amount', 'Description'],
    snapshot: { Id: 'x', Amount: 5 },
    changedAt: 0,
  });
  for (const bad of ['{not json', '[1,2]', 'null', null, undefined])
    assert.equal('snapshot' in dealChangeOf({ ...event, Record_Snapshot__c: bad }), false, String(bad));
  assert.deepEqual(dealChangeOf({ ...event, Changed_Fields__c: null, Change_Kind__c: null }), {
    dealId: OPPORTUNITY,
    changeKind: undefined,
    changedFields: [],
    changedAt: 0,
  });
});

test('Salesforce failures get the port’s kinds; only record and field errors are permanent', () => {
  const error = (code: ErrorCode, retryable: boolean, statusCode?: string) =>
    new RelayError(code, 'x', { retryable, ...(statusCode ? { details: { statusCode } } : {}) });
  assert.deepEqual(classifySalesforceError(error('SF_LOCKED', true)), { kind: 'locked', permanent: false });
  assert.deepEqual(classifySalesforceError(error('SF_LIMIT_EXCEEDED', true)), {
    kind: 'limit',
    permanent: false,
  });
  assert.deepEqual(classifySalesforceError(error('AUTH_FAILED', true)), { kind: 'auth', permanent: false });
  assert.deepEqual(classifySalesforceError(error('SF_RECORD_ERROR', false)), {
    kind: 'record',
    permanent: true,
  });
  assert.deepEqual(classifySalesforceError(error('SF_INVALID_FIELD', false)), {
    kind: 'invalid-field',
    permanent: true,
  });
  // A plain SF_ERROR is permanent only when its status code says the record is refused.
  assert.deepEqual(classifySalesforceError(error('SF_ERROR', false, 'DUPLICATES_DETECTED')), {
    kind: 'record',
    permanent: true,
  });
  assert.deepEqual(classifySalesforceError(error('SF_ERROR', false, 'SOMETHING_ELSE')), {
    kind: 'unavailable',
    permanent: false,
  });
  assert.deepEqual(classifySalesforceError(error('SF_ERROR', true)), {
    kind: 'unavailable',
    permanent: false,
  });
  assert.equal(classifySalesforceError(new RelayError('PC_THROTTLED', 'x')), null);
  assert.equal(classifySalesforceError(new Error('plain')), null);
});

test('the reconcile lists every synced Opportunity, page after page, with no cap', async () => {
  const sandbox = await createSalesforceRestSandbox();
  try {
    // 4,500 synced records take three SOQL batches of at most 2,000; unsynced ones are left out.
    const synced = new Set<string>();
    for (let i = 0; i < 4600; i++) {
      const record = sandbox.store.insert(
        'Opportunity',
        {
          Name: `Deal ${i}`,
          StageName: 'Qualification',
          CloseDate: '2027-01-31',
          Sync_with_Partner_Center__c: i < 4500,
        },
        DEFAULT_SELLER_USER.id,
      );
      if (i < 4500) synced.add(record.Id as string);
    }
    const adapter = createSalesforceAdapter({
      ...sandbox.relayCredentials,
      apiVersion: '62.0',
      windowMs: 5,
      maxWaitMs: 50,
      deferredWindowMs: 5,
      pubsub: {
        endpoint: '127.0.0.1:1',
        topic: '/event/Referral_Sync__e',
        tls: false,
        batchSize: 100,
        replayOnCorrupt: 'EARLIEST',
      },
      logger: silentLogger(),
    });
    await adapter.connect();
    sandbox.resetCounters();
    const ids = await adapter.listChangedDeals(null);
    assert.equal(ids.length, 4500);
    assert.deepEqual(new Set(ids), synced);
    assert.equal(sandbox.counters().byEndpoint.query, 3, 'one query and two next pages');
  } finally {
    await sandbox.close();
  }
});
