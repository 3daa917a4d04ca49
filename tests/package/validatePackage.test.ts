import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { report, validatePackage } from '../../scripts/validatePackage.ts';
import { copyProject, repoRoot } from './support.ts';

const run = promisify(execFile);
const script = path.join(repoRoot, 'scripts', 'validatePackage.ts');
const fieldsDir = path.join('force-app', 'main', 'default', 'objects', 'Opportunity', 'fields');

async function validateCopy(root: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script, '--root', root]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('package:validate', () => {
  it('passes on the checked-in package', async () => {
    const results = await validatePackage(repoRoot);
    const { text, ok } = report(results);
    assert.ok(ok, text);
    assert.deepEqual(
      results.map((result) => result.name),
      [
        'metadata conversion',
        'Apex syntax',
        'XML well-formed',
        'mapped-field metadata',
        'field references',
        'event access',
        'inbox stages',
      ],
    );
  });

  it('fails naming the setting when the inbox stage differs from the mapping', async () => {
    const copy = copyProject();
    try {
      const mappingFile = path.join(copy.root, 'config', 'mapping.json');
      const mapping = JSON.parse(readFileSync(mappingFile, 'utf8'));
      mapping.stages.active = 'Needs Analysis';
      writeFileSync(mappingFile, JSON.stringify(mapping, null, 2));

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ inbox stages/);
      assert.ok(
        output.includes(
          'Accepted_Stage__c is "Qualification", config/mapping.json stages.active is "Needs Analysis"',
        ),
        output,
      );
    } finally {
      copy.remove();
    }
  });

  it('fails naming the file when a field file is not well-formed XML', async () => {
    const copy = copyProject();
    try {
      const file = path.join(fieldsDir, 'Referral_Status__c.field-meta.xml');
      const broken = readFileSync(path.join(copy.root, file), 'utf8').replace('</valueSet>', '');
      writeFileSync(path.join(copy.root, file), broken);

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ XML well-formed/);
      assert.ok(output.includes(file), output);
    } finally {
      copy.remove();
    }
  });

  it('fails naming the file when a field file is misnamed', async () => {
    const copy = copyProject();
    try {
      const from = path.join(copy.root, fieldsDir, 'Audit__c.field-meta.xml');
      const misnamed = path.join(fieldsDir, 'Audit__c.field.xml');
      renameSync(from, path.join(copy.root, misnamed));

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ metadata conversion/);
      assert.ok(output.includes(misnamed), output);
      assert.match(
        output,
        /unknown field Opportunity\.Audit__c/,
        'references to the lost field are reported too',
      );
    } finally {
      copy.remove();
    }
  });

  it('fails naming the class when Apex has a syntax error', async () => {
    const copy = copyProject();
    try {
      const file = path.join('force-app', 'main', 'default', 'classes', 'ReferralSyncRule.cls');
      const source = readFileSync(path.join(copy.root, file), 'utf8');
      writeFileSync(
        path.join(copy.root, file),
        source.replace('decision.publish = true;', 'decision.publish = ;'),
      );

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ Apex syntax/);
      assert.ok(output.includes(file), output);
    } finally {
      copy.remove();
    }
  });

  it('fails when the mapped-field records are out of date with the mapping', async () => {
    const copy = copyProject();
    try {
      const mappingFile = path.join(copy.root, 'config', 'mapping.json');
      const mapping = JSON.parse(readFileSync(mappingFile, 'utf8'));
      mapping.fields.push({
        name: 'nextStep',
        opportunity: 'NextStep',
        referral: 'details.nextStep',
        direction: 'outbound',
      });
      writeFileSync(mappingFile, JSON.stringify(mapping));

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ mapped-field metadata/);
      assert.match(output, /Referral_Mapped_Field\.NextStep\.md-meta\.xml: missing/);
    } finally {
      copy.remove();
    }
  });

  it('fails when a permission set names a field that does not exist', async () => {
    const copy = copyProject();
    try {
      const file = path.join(
        'force-app',
        'main',
        'default',
        'permissionsets',
        'Cosell_Seller.permissionset-meta.xml',
      );
      const source = readFileSync(path.join(copy.root, file), 'utf8');
      writeFileSync(
        path.join(copy.root, file),
        source.replace('Opportunity.Audit__c', 'Opportunity.Audit_Trail__c'),
      );
      appendFileSync(path.join(copy.root, file), '\n');

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ field references/);
      assert.ok(output.includes(`${file}: unknown field Opportunity.Audit_Trail__c`), output);
    } finally {
      copy.remove();
    }
  });

  it("fails naming the permission set when a seller may read the relay's event", async () => {
    const copy = copyProject();
    try {
      const file = path.join(
        'force-app',
        'main',
        'default',
        'permissionsets',
        'Cosell_Seller.permissionset-meta.xml',
      );
      const source = readFileSync(path.join(copy.root, file), 'utf8');
      const eventRead = [
        '    <objectPermissions>',
        '        <allowCreate>false</allowCreate>',
        '        <allowDelete>false</allowDelete>',
        '        <allowEdit>false</allowEdit>',
        '        <allowRead>true</allowRead>',
        '        <modifyAllRecords>false</modifyAllRecords>',
        '        <object>Referral_Sync__e</object>',
        '        <viewAllRecords>false</viewAllRecords>',
        '    </objectPermissions>',
        '</PermissionSet>',
      ].join('\n');
      writeFileSync(path.join(copy.root, file), source.replace('</PermissionSet>', eventRead));

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ event access/);
      assert.ok(output.includes(`${file}: reads Referral_Sync__e`), output);
    } finally {
      copy.remove();
    }
  });

  it('fails naming the component when it subscribes to a streaming channel', async () => {
    const copy = copyProject();
    try {
      const file = path.join('force-app', 'main', 'default', 'lwc', 'referralPanel', 'referralPanel.js');
      const source = readFileSync(path.join(copy.root, file), 'utf8');
      writeFileSync(
        path.join(copy.root, file),
        "import { subscribe } from 'lightning/empApi';\n" +
          "import SYNC_EVENT from '@salesforce/schema/Referral_Sync__e';\n" +
          source,
      );

      const { code, output } = await validateCopy(copy.root);

      assert.equal(code, 1, output);
      assert.match(output, /✘ event access/);
      assert.ok(output.includes(`${file}: subscribes with lightning/empApi`), output);
      assert.ok(output.includes(`${file}: imports the platform event Referral_Sync__e`), output);
    } finally {
      copy.remove();
    }
  });
});
