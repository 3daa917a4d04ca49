import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { inboundPausedEntries, mappedOpportunityFields, parseMapping } from './mapping.ts';
import { loadMapping, loadMappingInStages } from '../mappingLoader.ts';
import { parseFieldMetadata } from '../crm/salesforce/opportunitySchema.ts';
import { FORCE_APP_DIR, MAPPING_FILE, opportunitySchema } from './testFixtures.ts';

const defaultJson = JSON.parse(await readFile(MAPPING_FILE, 'utf8')) as {
  fields: Record<string, unknown>[];
} & Record<string, unknown>;

function withFields(
  change: (fields: Record<string, unknown>[]) => void,
  top: Record<string, unknown> = {},
): unknown {
  const copy = structuredClone(defaultJson);
  change(copy.fields);
  return { ...copy, ...top };
}

function problemsOf(json: unknown): string[] {
  try {
    parseMapping(json, opportunitySchema);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, 'MAPPING_INVALID');
    return error.problems;
  }
  assert.fail('expected the mapping to be rejected');
}

describe('mapping', () => {
  it('loads the repository default config/mapping.json against the force-app fields', async () => {
    const mapping = await loadMapping(MAPPING_FILE, FORCE_APP_DIR);
    assert.equal(mapping.fields.length, defaultJson.fields.length);
    assert.equal(mapping.stages.onHold, 'Prospecting');
    assert.ok(Object.isFrozen(mapping.fields[0]));
    assert.ok(mappedOpportunityFields(mapping).includes('Amount'));
  });

  it('loads a mapping that still uses the older direction names, as the same mapping, with a notice per entry', () => {
    const current = parseMapping(defaultJson, opportunitySchema);
    assert.deepEqual(current.notices, []);
    const legacy = parseMapping(
      withFields((fields) => {
        for (const entry of fields)
          if (entry.direction === 'inbound') entry.direction = 'pc-to-sf';
          else if (entry.direction === 'outbound') entry.direction = 'sf-to-pc';
        fields[9].direction = 'pc-to-sf';
      }),
      opportunitySchema,
    );
    assert.deepEqual(legacy.fields, current.fields);
    assert.ok(legacy.notices.length > 0);
    assert.ok(
      legacy.notices.includes(
        `fields[9] (${String(defaultJson.fields[9].name)}).direction: "pc-to-sf" is the old name of "inbound"; it still works, but write "inbound"`,
      ),
      legacy.notices.join('\n'),
    );
  });

  it('pauses inbound updates per field, and refuses a pause that cannot apply', () => {
    const paused = parseMapping(
      withFields((fields) => {
        for (const entry of fields) if (entry.name === 'notes') entry.inboundUpdates = false;
      }),
      opportunitySchema,
    );
    assert.deepEqual(
      inboundPausedEntries(paused).map((entry) => entry.opportunity),
      ['Description'],
    );
    assert.deepEqual(inboundPausedEntries(parseMapping(defaultJson, opportunitySchema)), []);
    const problems = problemsOf(
      withFields((fields) => {
        const help = fields.findIndex((entry) => entry.name === 'help');
        fields[help].direction = 'outbound';
        delete fields[help].owner;
        fields[help].inboundUpdates = false;
        const stage = fields.findIndex((entry) => entry.transform === 'stage');
        fields[stage].inboundUpdates = false;
        const notes = fields.findIndex((entry) => entry.name === 'notes');
        fields[notes].inboundUpdates = 'no';
      }),
    );
    assert.ok(
      problems.some((p) =>
        /\.inboundUpdates: only applies to a field Partner Center writes, not outbound/.test(p),
      ),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /\.inboundUpdates: the stage field cannot be paused/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /\(notes\)\.inboundUpdates: must be true or false/.test(p)),
      problems.join('\n'),
    );
  });

  it("maps the org's own custom field when the org's describe defines it (production), and says so when it cannot", async () => {
    const json = withFields((fields) => {
      fields.push({
        name: 'region',
        opportunity: 'Sales_Region__c',
        referral: 'details.notes',
        direction: 'outbound',
        transform: 'text',
      });
      const notes = fields.findIndex((entry) => entry.name === 'notes');
      fields.splice(notes, 1);
    });
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'cosell-mapping-')), 'mapping.json');
    await writeFile(file, JSON.stringify(json));
    await assert.rejects(loadMapping(file, FORCE_APP_DIR), /Sales_Region__c" is not an Opportunity field/);
    const described = [{ name: 'Sales_Region__c', type: 'Text', length: 80, updateable: true }];
    const mapping = await loadMapping(file, FORCE_APP_DIR, { describe: async () => described });
    assert.ok(mappedOpportunityFields(mapping).includes('Sales_Region__c'));
    // At start: sandbox mode refuses it at once; production finishes the check once the CRM answers.
    await assert.rejects(loadMappingInStages(file, FORCE_APP_DIR, false), /Sales_Region__c/);
    const finish = await loadMappingInStages(file, FORCE_APP_DIR, true);
    assert.ok(mappedOpportunityFields(await finish(async () => described)).includes('Sales_Region__c'));
    await assert.rejects(
      loadMapping(file, FORCE_APP_DIR, {
        describe: async () => {
          throw new Error('INVALID_SESSION_ID');
        },
      }),
      (error: ConfigError) =>
        error.problems.some((p) => /Sales_Region__c/.test(p)) &&
        error.problems.some((p) =>
          /the org's describe, which could define them, failed: INVALID_SESSION_ID/.test(p),
        ),
    );
  });

  it('reads picklist values and restriction from field XML', () => {
    assert.deepEqual(opportunitySchema.opportunityFields.get('Referral_Status__c'), {
      name: 'Referral_Status__c',
      type: 'Picklist',
      picklistValues: ['New', 'Active', 'Closed'],
      restricted: true,
    });
    assert.equal(opportunitySchema.opportunityFields.get('Referral_Identifier__c')?.length, 100);
    assert.equal(opportunitySchema.opportunityFields.get('IsWon')?.updateable, false);
  });

  it('names every bad entry in one error', () => {
    const problems = problemsOf(
      withFields((fields) => {
        fields[1].opportunity = 'Amountt';
        fields[2].direction = 'sideways';
        fields[3].referral = 'details.closingDate';
        fields[4].owner = undefined;
        fields.push({
          name: 'name',
          opportunity: 'NextStep',
          referral: 'statusReason',
          direction: 'inbound',
          transform: 'text',
        });
      }),
    );
    assert.deepEqual(problems, [
      'fields[2] (currency).direction: must be one of inbound, outbound, both',
      'fields[1] (dealValue).opportunity: "Amountt" is not an Opportunity field',
      'fields[3] (closingDate).referral: "details.closingDate" is not a known referral path',
      'fields[4] (notes).owner: required when direction is both (who wins a conflict)',
      'fields[16] (name).name: "name" is also the name of fields[0]',
    ]);
  });

  it('rejects a transform that does not fit the field type', () => {
    const problems = problemsOf(
      withFields((fields) => {
        fields[12].opportunity = 'Description'; // visibility: boolean needs a Checkbox
        fields[12].direction = 'inbound';
        delete fields[12].owner;
        fields[10].opportunity = 'Referral_Substatus__c'; // help: picklist values do not fit
      }),
    );
    assert.ok(
      problems.includes(
        'fields[12] (visibility).transform: boolean needs a Checkbox field, but Description is LongTextArea',
      ),
    );
    assert.ok(
      problems.some((p) =>
        p.startsWith('fields[10] (help).opportunity: picklist Referral_Substatus__c lacks GeneralOrOther'),
      ),
    );
    assert.ok(
      problems.some((p) =>
        p.startsWith('fields[10] (help).opportunity: picklist Referral_Substatus__c has Pending'),
      ),
    );
    assert.ok(
      problems.includes(
        'fields[10] (help): writes Referral_Substatus__c, which fields[7] (substatus) also writes',
      ),
    );
  });

  it('rejects writing Partner Center-only data from Salesforce and read-only fields from Partner Center', () => {
    const problems = problemsOf(
      withFields((fields) => {
        Object.assign(fields[8], { direction: 'both', owner: 'salesforce' }); // referralId
        Object.assign(fields[9], { direction: 'outbound' }); // referralLink
        fields.push({
          name: 'won',
          opportunity: 'IsWon',
          referral: 'statusReason',
          direction: 'inbound',
          transform: 'text',
        });
      }),
    );
    assert.ok(
      problems.includes(
        'fields[8] (referralId).referral: "id" is set by Partner Center; use direction inbound',
      ),
    );
    assert.ok(
      problems.includes(
        'fields[9] (referralLink).direction: the referralLink transform only maps Partner Center → Salesforce',
      ),
    );
    assert.ok(
      problems.includes(
        'fields[16] (won).opportunity: "IsWon" is read-only in Salesforce; use direction outbound',
      ),
    );
    assert.ok(
      problems.includes(
        'fields[16] (won).transform: text needs a Text or TextArea or LongTextArea or Html or Url or Email or Phone or Picklist field, but IsWon is Checkbox',
      ),
    );
  });

  it('rejects empty or repeated stage names and unknown keys', () => {
    const problems = problemsOf(
      withFields(() => {}, {
        stages: { onHold: 'Prospecting', active: '', won: 'Closed Won', lost: 'Closed Won' },
        extra: 1,
      }),
    );
    assert.deepEqual(
      problems.sort(),
      ['mapping: Unrecognized key: "extra"', 'stages.active: must be a non-empty string'].sort(),
    );
    const repeated = problemsOf(
      withFields(() => {}, { stages: { onHold: 'A', active: 'B', won: 'C', lost: 'C' } }),
    );
    assert.deepEqual(repeated, ['stages: won and lost are both "C"; each stage must be distinct']);
  });

  it('requires an entry that links the referral id', () => {
    const problems = problemsOf(withFields((fields) => fields.splice(8, 1)));
    assert.ok(problems[0].startsWith('fields: no entry maps the referral id'));
  });

  it('reports an unreadable mapping file as a mapping error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mapping-'));
    const file = path.join(dir, 'mapping.json');
    await writeFile(file, '{ "stages": ');
    await assert.rejects(loadMapping(file, FORCE_APP_DIR), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.problems[0], /mapping\.json: not valid JSON/);
      return true;
    });
  });

  it('checks the defaults against the Opportunity fields and the referral paths', () => {
    const problems = problemsOf(
      withFields(() => {}, {
        defaults: {
          CloseDate: { from: 'details.notes', addDays: 90 },
          Amount: { value: 'lots' },
          Nope__c: { value: 1 },
          StageName: { value: 'Prospecting' },
          Name: { value: 'Referral' },
        },
      }),
    );
    assert.deepEqual(problems.sort(), [
      'defaults.Amount.value: must be a number for the Currency field Amount',
      'defaults.CloseDate.from: "details.notes" (string) cannot fill a Date field',
      'defaults.Nope__c: "Nope__c" is not an Opportunity field',
    ]);
  });

  it('names a default that says neither where its value comes from nor what it is', () => {
    const json = structuredClone(defaultJson) as Record<string, unknown>;
    (json.defaults as Record<string, unknown>).Description = {};
    assert.deepEqual(problemsOf(json), ['defaults.Description: needs "from" (a referral path) or "value"']);
  });

  it('requires a default for every required Opportunity field the relay could leave blank', () => {
    const json = structuredClone(defaultJson) as Record<string, unknown>;
    delete (json.defaults as Record<string, unknown>).CloseDate;
    assert.deepEqual(problemsOf(json), [
      'defaults: CloseDate is required in Salesforce; give it a default for referrals that leave it blank',
    ]);
  });

  it('reads precision, scale and required from field XML', () => {
    const field = parseFieldMetadata(
      '<CustomField><fullName>Margin__c</fullName><type>Number</type><precision>5</precision><scale>2</scale><required>true</required></CustomField>',
      'Margin__c.field-meta.xml',
    );
    assert.deepEqual(field, { name: 'Margin__c', type: 'Number', precision: 5, scale: 2, required: true });
  });

  it('rejects field XML without a type', () => {
    assert.throws(
      () => parseFieldMetadata('<CustomField><fullName>X__c</fullName></CustomField>', 'X__c.field-meta.xml'),
      /X__c.field-meta.xml: a CustomField needs fullName and type/,
    );
  });
});
