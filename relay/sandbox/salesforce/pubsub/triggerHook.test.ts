import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../../tests/support/waitFor.ts';
import { silentLogger } from '../../../src/logger.ts';
import { createPubSubSubscriber } from '../../../src/crm/salesforce/pubsubSubscriber.ts';
import type { DecodedEvent } from '../../../src/crm/salesforce/pubsubSubscriber.ts';
import { createSandboxAuth } from '../auth.ts';
import { createRecordStore } from '../recordStore.ts';
import { createTriggerRule } from '../triggerRule.ts';
import { DEFAULT_RELAY_APP, SANDBOX_ORG_ID, createUserDirectory } from '../users.ts';
import { createPubSubSandbox } from './pubsubSandbox.ts';
import { FORCE_APP, TOPIC } from './testSupport.ts';
import { authenticateWithSessions, connectTriggerRule } from './triggerHook.ts';

async function sandboxOrg() {
  const users = createUserDirectory();
  const auth = createSandboxAuth(users);
  const store = createRecordStore({ users: users.users });
  const pubsub = await createPubSubSandbox({
    authenticate: authenticateWithSessions(auth, SANDBOX_ORG_ID),
    forceAppDir: FORCE_APP,
  });
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: users.integrationUser.id });
  const disconnect = connectTriggerRule({ store, rule, pubsub });
  const seller = users.byUsername('seller@cosell-sync.sandbox');
  assert.ok(seller);
  return { users, auth, store, pubsub, disconnect, seller };
}

test('a seller save that the rule accepts reaches a relay subscriber as Referral_Sync__e', async (t) => {
  const org = await sandboxOrg();
  const token = org.auth.token(
    {
      grant_type: 'client_credentials',
      client_id: DEFAULT_RELAY_APP.clientId,
      client_secret: DEFAULT_RELAY_APP.clientSecret,
    },
    'http://127.0.0.1',
  );
  assert.ok('access_token' in token);
  const events: DecodedEvent[] = [];
  let replayId: Buffer | null = null;
  const subscriber = createPubSubSubscriber({
    endpoint: org.pubsub.endpoint,
    topic: TOPIC,
    tls: true,
    caPem: org.pubsub.caPem,
    getAuth: async () => ({
      accessToken: token.access_token,
      instanceUrl: 'http://127.0.0.1',
      tenantId: SANDBOX_ORG_ID,
    }),
    refreshAuth: async () => undefined,
    batchSize: 10,
    loadReplayId: async () => replayId,
    onBatch: async (batch, position) => {
      events.push(...batch);
      replayId = position;
    },
    onReplayReset: async () => undefined,
    replayOnCorrupt: 'LATEST',
    backoff: { initialMs: 5, maxMs: 50 },
    logger: silentLogger(),
  });
  t.after(async () => {
    await subscriber.stop();
    org.disconnect();
    await org.pubsub.close();
  });
  subscriber.start();
  await waitFor(() => org.pubsub.counters.fetchRequests >= 1, { message: 'subscribed' });

  const created = org.store.insert(
    'Opportunity',
    {
      Name: 'Contoso',
      StageName: 'Prospecting',
      CloseDate: '2026-06-30',
      Amount: 1000,
      Sync_with_Partner_Center__c: true,
    },
    org.seller.id,
  );
  org.store.update('Opportunity', String(created.Id), { Amount: 2000, NextStep: 'call' }, org.seller.id);
  org.store.update('Opportunity', String(created.Id), { Amount: 3000 }, org.users.integrationUser.id);
  org.store.update('Opportunity', String(created.Id), { NextStep: 'email' }, org.seller.id);

  await waitFor(() => events.length === 2, { message: 'two events' });
  assert.deepEqual(
    events.map((event) => [
      event.payload.Opportunity_Id__c,
      event.payload.Change_Kind__c,
      event.payload.Changed_Fields__c,
      event.payload.Changed_By__c,
    ]),
    [
      [created.Id, 'Created', null, org.seller.id],
      [created.Id, 'Updated', 'Amount', org.seller.id],
    ],
  );
  assert.equal(
    org.pubsub.counters.eventsPublished,
    2,
    'the integration user and the unmapped change published nothing',
  );
});

test('refuses Pub/Sub calls without a live sandbox session or for another org', async () => {
  const users = createUserDirectory();
  const auth = createSandboxAuth(users);
  const authenticate = authenticateWithSessions(auth, SANDBOX_ORG_ID);
  const token = auth.token(
    {
      grant_type: 'client_credentials',
      client_id: DEFAULT_RELAY_APP.clientId,
      client_secret: DEFAULT_RELAY_APP.clientSecret,
    },
    'http://127.0.0.1',
  );
  assert.ok('access_token' in token);
  assert.deepEqual(
    authenticate({
      accessToken: token.access_token,
      instanceUrl: 'http://127.0.0.1',
      tenantId: SANDBOX_ORG_ID.slice(0, 15),
    }),
    {
      userId: users.integrationUser.id,
      orgId: SANDBOX_ORG_ID,
    },
  );
  assert.equal(
    authenticate({ accessToken: 'not-a-session', instanceUrl: 'http://127.0.0.1', tenantId: SANDBOX_ORG_ID }),
    null,
  );
  assert.equal(
    authenticate({
      accessToken: token.access_token,
      instanceUrl: 'http://127.0.0.1',
      tenantId: '00DSb0000000099AAA',
    }),
    null,
  );
  auth.expireAll();
  assert.equal(
    authenticate({
      accessToken: token.access_token,
      instanceUrl: 'http://127.0.0.1',
      tenantId: SANDBOX_ORG_ID,
    }),
    null,
  );
});

test('a save the rule publishes is stored as Pending, as the package trigger’s before-save half does', async (t) => {
  const org = await sandboxOrg();
  t.after(async () => {
    org.disconnect();
    await org.pubsub.close();
  });
  const account = org.store.insert('Account', { Name: 'Pending Co' }, org.seller.id);
  const synced = org.store.insert(
    'Opportunity',
    {
      Name: 'Pending deal',
      AccountId: account.Id,
      StageName: 'Qualification',
      CloseDate: '2026-12-31',
      Sync_with_Partner_Center__c: true,
    },
    org.seller.id,
  );
  assert.equal(synced.Referral_Sync_Status__c, 'Pending');
  const settled = org.store.update(
    'Opportunity',
    synced.Id as string,
    { Referral_Sync_Status__c: 'Synced' },
    org.users.integrationUser.id,
  );
  assert.equal(settled.Referral_Sync_Status__c, 'Synced', 'the relay’s own write is not marked');
  const unmapped = org.store.update('Opportunity', synced.Id as string, { NextStep: 'Call' }, org.seller.id);
  assert.equal(unmapped.Referral_Sync_Status__c, 'Synced', 'an unmapped change keeps the last outcome');
});
