import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AUDIT_ENTRY_FIELD,
  AUDIT_FIELD,
  createTriggerRule,
  readMappedFields,
  SNAPSHOT_FIELDS,
  WRITE_COUNT_FIELD,
} from '../../relay/sandbox/salesforce/triggerRule.ts';
import { loadEventSchema } from '../../relay/sandbox/salesforce/pubsub/eventSchema.ts';
import { updateFields } from '../../relay/src/jobs/opportunityChanged.ts';
import { SALESFORCE_FIELDS } from '../../relay/src/crm/salesforce/adapter.ts';
import { loadMapping } from '../../relay/src/mappingLoader.ts';

/**
 * The package's Apex trigger rule and the Salesforce sandbox's rule must describe the same fields
 * and conditions. The conditions are the shared decision table, which both run (the sandbox here
 * and in triggerRule.test.ts, the Apex tests in an org); this suite checks that each side is wired
 * to the same table, the same mapped-field records, the same sync field and the same event.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const FORCE_APP = path.join(ROOT, 'force-app');
const CLASSES = path.join(FORCE_APP, 'main/default/classes');

/** Apex source with comments and string escapes removed, so matches see only code. */
function apex(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
}

const table = JSON.parse(
  readFileSync(path.join(FORCE_APP, 'main/default/staticresources/ReferralSyncRuleCases.json'), 'utf8'),
) as {
  syncField: string;
  eventName: string;
  cases: unknown[];
};
const rule = createTriggerRule({
  forceAppDir: FORCE_APP,
  integrationUserId: '005000000000001AAA',
}).describe();
const ruleClass = apex(path.join(CLASSES, 'ReferralSyncRule.cls'));
const serviceClass = apex(path.join(CLASSES, 'ReferralSyncService.cls'));
const ruleTest = apex(path.join(FORCE_APP, 'test/default/classes/ReferralSyncRule_Test.cls'));

test('the Apex rule, the sandbox rule and the decision table name the same sync field', () => {
  const apexSyncField = /SYNC_FIELD\s*=\s*'([^']+)'/.exec(ruleClass)?.[1];
  assert.equal(apexSyncField, table.syncField);
  assert.equal(rule.syncField, table.syncField);
});

test('both rules take the mapped fields from the Referral_Mapped_Field records generated from the mapping', () => {
  assert.match(
    serviceClass,
    /Referral_Mapped_Field__mdt\.getAll\(\)/,
    'the Apex service reads every Referral_Mapped_Field record',
  );
  assert.deepEqual([...rule.mappedFields].sort(), readMappedFields(FORCE_APP));
  assert.ok(rule.mappedFields.length > 0);
});

test('the Apex tests run the same decision table the sandbox runs', () => {
  assert.match(
    ruleTest,
    /WHERE\s+Name\s*=\s*'ReferralSyncRuleCases'/,
    'ReferralSyncRule_Test loads the shared table',
  );
  assert.match(ruleTest, /ReferralSyncRule\.decide\(/, 'and decides each case with the production rule');
  assert.ok(table.cases.length >= 10);
});

test('both sides publish the same event with the same fields', () => {
  assert.equal(rule.eventName, table.eventName);
  const block = /new\s+Referral_Sync__e\s*\(([^)]*)\)/.exec(serviceClass)?.[1] ?? '';
  const apexFields = [...block.matchAll(/(\w+__c)\s*=/g)].map((m) => m[1]).sort();
  const schema = loadEventSchema(FORCE_APP, table.eventName);
  const sandboxFields = schema.fields
    .map((f) => f.name)
    .filter((n) => n.endsWith('__c'))
    .sort();
  assert.deepEqual(apexFields, sandboxFields);
});

test('both sides skip the integration user and honour the admin bypass', () => {
  assert.match(
    serviceClass,
    /Referral_Sync_Setting__mdt/,
    'the Apex service reads the integration user setting',
  );
  assert.match(
    serviceClass,
    /Referral_Sync_Bypass__c\.getInstance\(\)/,
    'the Apex service reads the bypass setting',
  );
  assert.match(ruleClass, /runningUserIsIntegrationUser/);
  assert.match(ruleClass, /bypass/);
});

test('both sides put the same fields in the event snapshot', () => {
  const block = /SNAPSHOT_FIELDS\s*=\s*new\s+List<String>\s*\{([^}]*)\}/.exec(serviceClass)?.[1] ?? '';
  const apexFields = [...block.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
  assert.ok(apexFields.length > 0, 'ReferralSyncService declares SNAPSHOT_FIELDS');
  assert.deepEqual(apexFields, [...SNAPSHOT_FIELDS].sort());
  assert.match(
    serviceClass,
    /Record_Snapshot__c\s*=\s*snapshotOf\(record,\s*mapped\)/,
    'the Apex snapshot adds the mapped fields, as the sandbox does',
  );
});

test('both before-save halves count relay writes and move audit entries into the trail', () => {
  const handler = apex(path.join(CLASSES, 'OpportunityTriggerHandler.cls'));
  assert.match(handler, /BEFORE_INSERT\s*\{[^}]*applyRelayWrites\(true/);
  assert.match(handler, /BEFORE_UPDATE\s*\{[^}]*applyRelayWrites\(false/);
  const body = /void applyRelayWrites\(([\s\S]*?)\n {4}\}/.exec(serviceClass)?.[1] ?? '';
  for (const field of [WRITE_COUNT_FIELD, AUDIT_ENTRY_FIELD, AUDIT_FIELD])
    assert.match(body, new RegExp(`record\\.${field}\\s*=`), `applyRelayWrites sets ${field}`);
  assert.match(body, /relayWrite = integrationUser && String\.isNotEmpty\(record\.Audit_Entry__c\)/);
  assert.match(body, /relayWrite \? count \+ 1 : count/);
  const sandbox = createTriggerRule({ forceAppDir: FORCE_APP, integrationUserId: 'relay' });
  const set = sandbox.beforeSave({
    sobject: 'Opportunity',
    operation: 'update',
    before: { [WRITE_COUNT_FIELD]: 1, [AUDIT_FIELD]: 'a' },
    after: { [AUDIT_FIELD]: 'a', [AUDIT_ENTRY_FIELD]: 'b' },
    userId: 'relay',
  });
  assert.deepEqual(set, { [WRITE_COUNT_FIELD]: 2, [AUDIT_FIELD]: 'b\na', [AUDIT_ENTRY_FIELD]: null });
  for (const field of [WRITE_COUNT_FIELD, AUDIT_ENTRY_FIELD])
    assert.ok(
      existsSync(path.join(FORCE_APP, 'main/default/objects/Opportunity/fields', `${field}.field-meta.xml`)),
      `the package defines Opportunity.${field}`,
    );
});

test('the snapshot both sides publish holds every field the relay reads to send an update', async () => {
  const mapping = await loadMapping(path.join(ROOT, 'config/mapping.json'), FORCE_APP);
  const published = new Set([...SNAPSHOT_FIELDS, ...readMappedFields(FORCE_APP)]);
  const missing = updateFields({ mapping, crm: { fields: SALESFORCE_FIELDS } }).filter(
    (field) => !published.has(field),
  );
  assert.deepEqual(missing, [], 'with the default mapping, a seller edit needs no query');
});
