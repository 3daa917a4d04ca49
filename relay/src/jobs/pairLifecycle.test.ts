import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import pg from 'pg';
import { matchingSourceLines } from '../../../scripts/sourceLines.ts';
import { createTestDatabase } from '../../../tests/support/postgres.ts';
import type { Referral } from '../sync/referral.ts';
import { findLinkByOpportunity, findLinkByReferral } from '../store/links.ts';
import { migrate } from '../store/migrate.ts';
import {
  gaveUp,
  paired,
  referralUnchanged,
  refused,
  syncedInbound,
  syncedOutbound,
} from './pairLifecycle.ts';

let pool: pg.Pool;
before(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase('lifecycle') });
  await migrate(pool);
});
after(() => pool.end());

const referral = (id: string, eTag: string, updatedDateTime: string): Referral =>
  ({ id, eTag, updatedDateTime, engagementId: `eng-${id}` }) as Referral;

test('an outbound create goes paired (Pending, nothing agreed) → synced, and a refusal keeps the pair with the reason', async () => {
  const opportunityId = '006Sb0000000L01AAA';
  const created = referral('ref-l1', 'e1', '2026-12-01T10:00:00Z');
  await paired(pool, opportunityId, created, 'in-1');
  let link = await findLinkByOpportunity(pool, opportunityId);
  assert.equal(link?.referralId, 'ref-l1');
  assert.equal(link?.engagementId, 'eng-ref-l1');
  assert.equal(link?.syncStatus, 'Pending');
  assert.equal(link?.outboundFingerprint, null);
  assert.equal(link?.outboundValues, null, 'an adopted referral agrees on nothing yet');
  assert.equal(link?.lastSyncedAt, null);

  await syncedOutbound(pool, opportunityId, created, {
    inboundFingerprint: 'in-2',
    agreed: { dealValue: 5 },
    outboundFingerprint: 'out-1',
    opportunityVersion: new Date('2026-12-01T10:00:01Z'),
  });
  link = await findLinkByOpportunity(pool, opportunityId);
  assert.equal(link?.syncStatus, 'Synced');
  assert.equal(link?.referralEtag, 'e1');
  assert.deepEqual(link?.outboundValues, { dealValue: 5 });
  assert.equal(link?.inboundFingerprint, 'in-2');
  assert.equal(link?.opportunityVersion?.toISOString(), '2026-12-01T10:00:01.000Z');
  assert.ok(link?.lastSyncedAt);

  await refused(pool, opportunityId, 'Referral is Closed/Won in Partner Center', 'out-2', 'ref-l1');
  link = await findLinkByOpportunity(pool, opportunityId);
  assert.equal(link?.syncStatus, 'Error');
  assert.equal(link?.lastError, 'Referral is Closed/Won in Partner Center');
  assert.equal(link?.outboundFingerprint, 'out-2');
  assert.deepEqual(link?.outboundValues, { dealValue: 5 }, 'the agreement stays');

  // An update sync that leaves Partner Center's own changes unagreed keeps the inbound fingerprint.
  await syncedOutbound(pool, opportunityId, referral('ref-l1', 'e2', '2026-12-01T10:05:00Z'), {
    inboundFingerprint: undefined,
    agreed: { dealValue: 6 },
    outboundFingerprint: 'out-3',
  });
  link = await findLinkByOpportunity(pool, opportunityId);
  assert.equal(link?.syncStatus, 'Synced');
  assert.equal(link?.lastError, null);
  assert.equal(link?.inboundFingerprint, 'in-2');
  assert.equal(link?.referralEtag, 'e2');
});

test('an inbound sync saves the agreement; an unchanged referral moves only its version; giving up marks Error', async () => {
  const incoming = referral('ref-l2', 'e1', '2026-12-01T11:00:00Z');
  await syncedInbound(pool, incoming, {
    opportunityId: '006Sb0000000L02AAA',
    accountId: '001Sb0000000L02AAA',
    inboundValues: { Amount: 7 },
    inboundFingerprint: 'in-1',
    agreed: { dealValue: 7 },
  });
  let link = await findLinkByReferral(pool, 'ref-l2');
  assert.equal(link?.opportunityId, '006Sb0000000L02AAA');
  assert.equal(link?.accountId, '001Sb0000000L02AAA');
  assert.deepEqual(link?.inboundValues, { Amount: 7 });
  assert.deepEqual(link?.outboundValues, { dealValue: 7 });
  assert.equal(link?.syncStatus, 'Synced');
  const syncedAt = link?.lastSyncedAt;

  await referralUnchanged(pool, referral('ref-l2', 'e2', '2026-12-01T11:05:00Z'));
  link = await findLinkByReferral(pool, 'ref-l2');
  assert.equal(link?.referralEtag, 'e2');
  assert.equal(link?.referralUpdatedAt?.toISOString(), '2026-12-01T11:05:00.000Z');
  assert.equal(link?.inboundFingerprint, 'in-1');
  assert.deepEqual(link?.lastSyncedAt, syncedAt, 'nothing was synced');

  await gaveUp(pool, { referralId: 'ref-l2' }, 'SF_RECORD_ERROR: refused');
  link = await findLinkByReferral(pool, 'ref-l2');
  assert.equal(link?.syncStatus, 'Error');
  assert.equal(link?.lastError, 'SF_RECORD_ERROR: refused');
  assert.deepEqual(link?.outboundValues, { dealValue: 7 });
});

test('no production module but the lifecycle and the link store writes a link row', () => {
  const offenders = matchingSourceLines(path.resolve(import.meta.dirname, '../../..'), {
    dir: 'relay/src',
    pattern: /\b(saveLink|pairLink)\(/,
    skip: ['relay/src/store/links.ts', 'relay/src/jobs/pairLifecycle.ts'],
  });
  assert.deepEqual(offenders, []);
});
