import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransformContext } from './transforms.ts';
import { getTransform, splitSolutionIds } from './transforms.ts';
import { defaultMapping } from './testFixtures.ts';

function context(name: string): TransformContext {
  const entry = defaultMapping.fields.find((field) => field.name === name);
  assert.ok(entry);
  return { mapping: defaultMapping, entry };
}

describe('transforms', () => {
  it('converts a closing datetime to its UTC day and back to UTC midnight', () => {
    const date = getTransform('date');
    assert.equal(date.toSalesforce('2026-11-24T23:30:00-02:00', context('closingDate')), '2026-11-25');
    assert.equal(date.toPartnerCenter('2026-11-25', context('closingDate')), '2026-11-25T00:00:00Z');
    assert.equal(date.toPartnerCenter('', context('closingDate')), null);
    assert.throws(() => date.toPartnerCenter('next week', context('closingDate')), /is not a date/);
  });

  it('maps picklist blanks to Unknown and Unknown to blank', () => {
    const picklist = getTransform('picklist');
    assert.equal(picklist.toSalesforce('Unknown', context('help')), null);
    assert.equal(picklist.toSalesforce('QuotesOrLicensing', context('help')), 'QuotesOrLicensing');
    assert.equal(picklist.toPartnerCenter(null, context('help')), 'Unknown');
    assert.equal(picklist.toPartnerCenter('GeneralOrOther', context('help')), 'GeneralOrOther');
  });

  it('turns semicolon-separated solution ids into Name solution tags and back', () => {
    const solutions = getTransform('solutions');
    assert.deepEqual(solutions.toPartnerCenter(' SOL-1-AAA; SOL-2-BBB;;sol-1-aaa ', context('solutions')), [
      { id: 'SOL-1-AAA', type: 'Name' },
      { id: 'SOL-2-BBB', type: 'Name' },
    ]);
    assert.equal(
      solutions.toSalesforce([{ id: 'SOL-1-AAA' }, { id: 'SOL-2-BBB', name: 'x' }], context('solutions')),
      'SOL-1-AAA;SOL-2-BBB',
    );
    assert.deepEqual(splitSolutionIds(null), []);
  });

  it('builds the referral link from the template', () => {
    assert.equal(
      getTransform('referralLink').toSalesforce('abc', context('referralLink')),
      'https://partner.microsoft.com/dashboard/referrals/v2/opportunities/abc',
    );
    assert.throws(
      () => getTransform('referralLink').toPartnerCenter('x', context('referralLink')),
      /only maps Partner Center/,
    );
  });

  it('keeps numbers and booleans strict', () => {
    assert.equal(getTransform('number').toPartnerCenter('2000', context('dealValue')), 2000);
    assert.equal(getTransform('number').toSalesforce(null, context('dealValue')), null);
    assert.equal(getTransform('boolean').toSalesforce(undefined, context('visibility')), false);
    assert.equal(getTransform('text').toSalesforce('', context('name')), null);
  });
});
