import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chunkInList, soqlIn, soqlName, soqlString } from './soql.ts';

describe('SOQL building', () => {
  it('escapes quotes and backslashes so a value cannot end its literal', () => {
    assert.equal(soqlString("O'Brien \\ x"), "'O\\'Brien \\\\ x'");
    assert.equal(
      soqlIn('Referral_Identifier__c', ["a' OR Name != '"]),
      "Referral_Identifier__c IN ('a\\' OR Name != \\'')",
    );
  });

  it('refuses field names that are not plain paths', () => {
    assert.equal(soqlName('Account.Name'), 'Account.Name');
    assert.throws(() => soqlName('Name FROM User --'), /Not a valid SOQL field name/);
  });

  it('chunks IN lists by key count and by query length', () => {
    const keys = Array.from({ length: 450 }, (_, i) => `key-${i}`);
    const render = (chunk: string[]) => `SELECT Id FROM Opportunity WHERE ${soqlIn('Name', chunk)}`;
    assert.deepEqual(
      chunkInList(keys, 200, 100_000, render).map((c) => c.length),
      [200, 200, 50],
    );
    const byLength = chunkInList(keys, 200, 500, render);
    assert.ok(byLength.every((c) => render(c).length <= 500));
    assert.equal(byLength.flat().length, 450);
  });
});
