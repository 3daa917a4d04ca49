import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTriggerRule, readMappedFields, referralSyncPayload } from './triggerRule.ts';
import type { RecordChange } from './triggerRule.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FORCE_APP = path.join(ROOT, 'force-app');
const INTEGRATION_USER = '005Sb0000000001AAA';
const SELLER = '005Sb0000000002AAA';

interface RuleCase {
  name: string;
  isInsert: boolean;
  old: Record<string, unknown> | null;
  new: Record<string, unknown>;
  runningUserIsIntegrationUser: boolean;
  bypass: boolean;
  expected: { publish: boolean; changeKind?: string; changedFields?: string[] };
}

const table = JSON.parse(
  readFileSync(path.join(FORCE_APP, 'main/default/staticresources/ReferralSyncRuleCases.json'), 'utf8'),
) as {
  syncField: string;
  eventName: string;
  cases: RuleCase[];
};

test('names the same sync field and event as the shared decision table', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const described = rule.describe();
  assert.equal(described.syncField, table.syncField);
  assert.equal(described.eventName, table.eventName);
});

for (const ruleCase of table.cases) {
  test(`decision table: ${ruleCase.name}`, () => {
    const userId = ruleCase.runningUserIsIntegrationUser ? INTEGRATION_USER : SELLER;
    const rule = createTriggerRule({
      forceAppDir: FORCE_APP,
      integrationUserId: INTEGRATION_USER,
      isBypassed: (id) => ruleCase.bypass && id === userId,
    });
    const change: RecordChange = {
      sobject: 'Opportunity',
      operation: ruleCase.isInsert ? 'insert' : 'update',
      before: ruleCase.old,
      after: { Id: '006Sb0000000001AAA', ...ruleCase.new },
      userId,
    };
    assert.deepEqual(rule.decide(change), ruleCase.expected);
  });
}

test('reads mapped fields from the package records that mapping.json asks for', () => {
  const mapping = JSON.parse(readFileSync(path.join(ROOT, 'config/mapping.json'), 'utf8')) as {
    fields: Array<{ opportunity: string; direction: string }>;
  };
  const expected = mapping.fields
    .filter(
      (entry) =>
        (entry.direction === 'outbound' || entry.direction === 'both') && !entry.opportunity.includes('.'),
    )
    .map((entry) => entry.opportunity)
    .sort();
  assert.deepEqual(readMappedFields(FORCE_APP), expected);
});

test('ignores changes to other objects', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const decision = rule.decide({
    sobject: 'Account',
    operation: 'insert',
    before: null,
    after: { Sync_with_Partner_Center__c: true },
    userId: SELLER,
  });
  assert.deepEqual(decision, { publish: false });
});

test('counts a change of letter case in a mapped text field as a change', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const decision = rule.decide({
    sobject: 'Opportunity',
    operation: 'update',
    before: { Sync_with_Partner_Center__c: true, Description: 'acme deal' },
    after: { Sync_with_Partner_Center__c: true, Description: 'Acme deal' },
    userId: SELLER,
  });
  assert.deepEqual(decision, { publish: true, changeKind: 'Updated', changedFields: ['Description'] });
});

test('builds the event payload with a comma-separated field list, null when empty', () => {
  const change: RecordChange = {
    sobject: 'Opportunity',
    operation: 'update',
    before: {},
    after: { Id: '006Sb0000000001AAA', Amount: 2500, Relay_Write_Count__c: 3, NextStep: 'call' },
    userId: SELLER,
  };
  const payload = referralSyncPayload(
    change,
    { publish: true, changeKind: 'Updated', changedFields: ['Amount', 'Description'] },
    ['Amount', 'Description'],
  );
  assert.deepEqual(
    { ...payload, Record_Snapshot__c: undefined },
    {
      Opportunity_Id__c: '006Sb0000000001AAA',
      Change_Kind__c: 'Updated',
      Changed_Fields__c: 'Amount,Description',
      Changed_By__c: SELLER,
      Record_Snapshot__c: undefined,
    },
  );
  assert.equal(
    referralSyncPayload(change, { publish: true, changeKind: 'Created', changedFields: [] }, [])
      .Changed_Fields__c,
    null,
  );
  // The snapshot: the fixed fields and the mapped ones, null when unset, nothing else.
  assert.deepEqual(JSON.parse(payload.Record_Snapshot__c), {
    Id: '006Sb0000000001AAA',
    IsClosed: null,
    IsWon: null,
    Microsoft_CRM_Identifier__c: null,
    Referral_Created_Date__c: null,
    Referral_Identifier__c: null,
    Referral_Link__c: null,
    Referral_Status__c: null,
    Referral_Substatus__c: null,
    Referral_Sync_Status__c: null,
    Relay_Write_Count__c: 3,
    Sync_with_Partner_Center__c: null,
    Amount: 2500,
    Description: null,
  });
});

test('before save: counts relay writes and keeps everyone else from changing the count', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const save = (userId: string, before: Record<string, unknown> | null, after: Record<string, unknown>) =>
    rule.beforeSave({
      sobject: 'Opportunity',
      operation: before ? 'update' : 'insert',
      before,
      after,
      userId,
    });
  const relayWrite = { Audit_Entry__c: 'line' };
  assert.equal(save(INTEGRATION_USER, null, relayWrite).Relay_Write_Count__c, 1);
  assert.equal(save(SELLER, null, {}).Relay_Write_Count__c, 0);
  assert.equal(save(INTEGRATION_USER, { Relay_Write_Count__c: 4 }, relayWrite).Relay_Write_Count__c, 5);
  // The integration user's save without audit lines (an admin's data load) is not a relay write.
  assert.equal(save(INTEGRATION_USER, { Relay_Write_Count__c: 4 }, {}).Relay_Write_Count__c, 4);
  assert.equal(
    save(SELLER, { Relay_Write_Count__c: 4 }, { Relay_Write_Count__c: 99 }).Relay_Write_Count__c,
    4,
  );
  assert.deepEqual(
    rule.beforeSave({ sobject: 'Account', operation: 'insert', before: null, after: {}, userId: SELLER }),
    {},
  );
});

test('before save: audit entries move to the top of Audit__c and the entry field is emptied', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const set = rule.beforeSave({
    sobject: 'Opportunity',
    operation: 'update',
    before: { Audit__c: 'old' },
    after: { Audit__c: 'old', Audit_Entry__c: 'new 2\nnew 1' },
    userId: INTEGRATION_USER,
  });
  assert.equal(set.Audit__c, 'new 2\nnew 1\nold');
  assert.equal(set.Audit_Entry__c, null);
  const untouched = rule.beforeSave({
    sobject: 'Opportunity',
    operation: 'update',
    before: { Audit__c: 'old' },
    after: { Audit__c: 'old' },
    userId: INTEGRATION_USER,
  });
  assert.equal('Audit__c' in untouched, false);
});

test('before save: a save the rule publishes shows Pending', () => {
  const rule = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: INTEGRATION_USER });
  const change = (userId: string): RecordChange => ({
    sobject: 'Opportunity',
    operation: 'update',
    before: { Sync_with_Partner_Center__c: true, Amount: 1 },
    after: { Sync_with_Partner_Center__c: true, Amount: 2 },
    userId,
  });
  assert.equal(rule.beforeSave(change(SELLER)).Referral_Sync_Status__c, 'Pending');
  assert.equal('Referral_Sync_Status__c' in rule.beforeSave(change(INTEGRATION_USER)), false);
});

test('refuses a package without mapped-field records, naming the folder', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'force-app-'));
  try {
    mkdirSync(path.join(dir, 'main/default/customMetadata'), { recursive: true });
    writeFileSync(
      path.join(dir, 'main/default/customMetadata/Referral_Sync_Setting.Default.md-meta.xml'),
      '<CustomMetadata/>',
    );
    assert.throws(
      () => readMappedFields(dir),
      /No Referral_Mapped_Field custom metadata records in .*customMetadata/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
