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
        (entry.direction === 'sf-to-pc' || entry.direction === 'both') && !entry.opportunity.includes('.'),
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
    after: { Id: '006Sb0000000001AAA' },
    userId: SELLER,
  };
  assert.deepEqual(
    referralSyncPayload(change, {
      publish: true,
      changeKind: 'Updated',
      changedFields: ['Amount', 'Description'],
    }),
    {
      Opportunity_Id__c: '006Sb0000000001AAA',
      Change_Kind__c: 'Updated',
      Changed_Fields__c: 'Amount,Description',
      Changed_By__c: SELLER,
    },
  );
  assert.equal(
    referralSyncPayload(change, { publish: true, changeKind: 'Created', changedFields: [] })
      .Changed_Fields__c,
    null,
  );
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
