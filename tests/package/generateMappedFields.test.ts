import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  CUSTOM_METADATA_DIR,
  MappingError,
  checkMappedFields,
  diffRecords,
  expectedRecords,
  writeMappedFields,
} from '../../scripts/generateMappedFields.ts';
import { copyProject, repoRoot } from './support.ts';

const mapping = (fields: unknown[]) => ({ fields });

describe('mapping:generate', () => {
  it('keeps only outbound entries on direct Opportunity fields', () => {
    const records = expectedRecords(
      mapping([
        { name: 'dealValue', opportunity: 'Amount', direction: 'both' },
        { name: 'help', opportunity: 'How_can_Microsoft_help__c', direction: 'sf-to-pc' },
        { name: 'status', opportunity: 'Referral_Status__c', direction: 'pc-to-sf' },
        { name: 'owner', opportunity: 'Account.Name', direction: 'both' },
      ]),
    );

    assert.deepEqual(
      records.map((record) => [record.fileName, record.fieldApiName]),
      [
        ['Referral_Mapped_Field.Amount.md-meta.xml', 'Amount'],
        ['Referral_Mapped_Field.How_can_Microsoft_help.md-meta.xml', 'How_can_Microsoft_help__c'],
      ],
    );
    assert.match(records[0].content, /<value xsi:type="xsd:string">Amount<\/value>/);
    assert.match(records[0].content, /<label>dealValue<\/label>/);
  });

  it('rejects an entry with an unknown direction, naming it', () => {
    assert.throws(
      () => expectedRecords(mapping([{ name: 'odd', opportunity: 'Amount', direction: 'sideways' }])),
      (error: unknown) => error instanceof MappingError && /fields\[0\] \(odd\)/.test(error.message),
    );
  });

  it('reports missing, changed and stale records', () => {
    const expected = expectedRecords(
      mapping([
        { name: 'dealValue', opportunity: 'Amount', direction: 'both' },
        { name: 'notes', opportunity: 'Description', direction: 'both' },
      ]),
    );
    const present = new Map([
      ['Referral_Mapped_Field.Amount.md-meta.xml', 'old content'],
      ['Referral_Mapped_Field.NextStep.md-meta.xml', expected[0].content],
    ]);

    assert.deepEqual(diffRecords(expected, present), [
      { fileName: 'Referral_Mapped_Field.Amount.md-meta.xml', kind: 'changed' },
      { fileName: 'Referral_Mapped_Field.Description.md-meta.xml', kind: 'missing' },
      { fileName: 'Referral_Mapped_Field.NextStep.md-meta.xml', kind: 'stale' },
    ]);
  });

  it('finds the checked-in records current', () => {
    assert.deepEqual(checkMappedFields(repoRoot), []);
  });

  it('rewrites drifted records and removes stale ones on a copy', () => {
    const copy = copyProject();
    try {
      const dir = path.join(copy.root, CUSTOM_METADATA_DIR);
      writeFileSync(path.join(dir, 'Referral_Mapped_Field.NextStep.md-meta.xml'), 'stale');
      writeFileSync(path.join(dir, 'Referral_Mapped_Field.Amount.md-meta.xml'), 'drifted');
      assert.equal(checkMappedFields(copy.root).length, 2);

      writeMappedFields(copy.root);

      assert.deepEqual(checkMappedFields(copy.root), []);
      assert.equal(existsSync(path.join(dir, 'Referral_Mapped_Field.NextStep.md-meta.xml')), false);
      assert.match(
        readFileSync(path.join(dir, 'Referral_Mapped_Field.Amount.md-meta.xml'), 'utf8'),
        />Amount</,
      );
      assert.ok(
        readdirSync(dir).includes('Referral_Sync_Setting.Default.md-meta.xml'),
        'other records are left alone',
      );
    } finally {
      copy.remove();
    }
  });
});
