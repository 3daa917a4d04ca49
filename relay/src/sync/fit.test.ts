import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../errors.ts';
import { characterCount, fitReferralValue, fitSalesforceValue, roundToScale, truncateText } from './fit.ts';
import { mapReferralToOpportunity } from './inbound.ts';
import { defaultMapping, sampleReferral } from './testFixtures.ts';
import { withoutInboundEchoes } from './outbound.ts';

const NAME = { name: 'Name', type: 'Text', length: 120 } as const;

describe('fitting values to Salesforce fields', () => {
  it('truncates text to the field length with a note counting characters', () => {
    const fitted = fitSalesforceValue('Name', 'x'.repeat(183), NAME);
    assert.equal(fitted.value, 'x'.repeat(120));
    assert.deepEqual(fitted.notes, [{ field: 'Name', message: 'Name truncated from 183 to 120 characters' }]);
    assert.deepEqual(fitSalesforceValue('Name', 'short', NAME), { value: 'short', notes: [], problems: [] });
  });

  it('never splits a surrogate pair when it cuts', () => {
    const text = `${'a'.repeat(119)}😀tail`;
    const cut = truncateText(text, 120);
    assert.equal(cut, 'a'.repeat(119), 'the emoji would need 121 code units, so it goes whole');
    assert.equal(truncateText('😀😀😀', 4), '😀😀');
    assert.equal(characterCount('😀😀😀'), 3);
    const fitted = fitSalesforceValue('Name', `${'é'.repeat(100)}${'😀'.repeat(20)}`, NAME);
    assert.equal((fitted.value as string).length, 120);
    assert.equal(fitted.notes[0].message, 'Name truncated from 120 to 110 characters');
  });

  it('rounds numbers to the scale and refuses ones the precision cannot hold', () => {
    const amount = { name: 'Amount', type: 'Currency', precision: 18, scale: 2 } as const;
    assert.equal(fitSalesforceValue('Amount', 1.005, amount).value, 1.01);
    assert.equal(fitSalesforceValue('Amount', -2.345, amount).value, -2.35);
    assert.match(
      fitSalesforceValue('Amount', 12.345, amount).notes[0].message,
      /Amount rounded from 12.345 to 12.35/,
    );
    assert.deepEqual(fitSalesforceValue('Amount', 1e16, amount).problems, [
      'Amount: 10000000000000000 does not fit the field (at most 16 digits before the decimal point)',
    ]);
    assert.equal(roundToScale(-0.001, 2), 0);
  });

  it('maps a picklist value spelt differently and warns about an unknown one in a restricted list', () => {
    const status = {
      name: 'Referral_Status__c',
      type: 'Picklist',
      picklistValues: ['New', 'Active', 'Closed'],
      restricted: true,
    };
    const mapped = fitSalesforceValue('Referral_Status__c', 'active', status);
    assert.equal(mapped.value, 'Active');
    const unknown = fitSalesforceValue('Referral_Status__c', 'Paused', status);
    assert.equal(unknown.value, 'Paused');
    assert.equal(unknown.notes[0].warning, true);
    assert.match(unknown.notes[0].message, /not a value of its restricted picklist/);
  });

  it('accepts dates Salesforce takes and names the field of one it refuses', () => {
    const closeDate = { name: 'CloseDate', type: 'Date' } as const;
    assert.equal(fitSalesforceValue('CloseDate', '2026-03-24', closeDate).value, '2026-03-24');
    assert.deepEqual(fitSalesforceValue('CloseDate', '1600-01-01', closeDate).problems, [
      'CloseDate: 1600-01-01 is outside the dates Salesforce accepts (1700–4000)',
    ]);
    assert.match(fitSalesforceValue('CloseDate', '2026-02-30', closeDate).problems[0], /is not a date/);
  });
});

describe('fitting values to the referral schema', () => {
  it('sends enum values and currencies in their documented spelling', () => {
    assert.equal(
      fitReferralValue('inviteContext.assistanceRequestCode', 'quotesorlicensing').value,
      'QuotesOrLicensing',
    );
    assert.equal(fitReferralValue('details.currency', ' eur').value, 'EUR');
    assert.deepEqual(fitReferralValue('details.currency', 'euro').problems, [
      'details.currency: "euro" is not an ISO 4217 currency code (for example USD)',
    ]);
    const unknown = fitReferralValue('inviteContext.assistanceRequestCode', 'Pizza');
    assert.equal(unknown.value, 'Pizza');
    assert.equal(unknown.notes[0].warning, true);
  });

  it('refuses a negative deal value and truncates only where a length is configured', () => {
    assert.deepEqual(fitReferralValue('details.dealValue', -1).problems, [
      'details.dealValue: -1 must be a number, 0 or more',
    ]);
    assert.equal(fitReferralValue('name', 'x'.repeat(500)).value, 'x'.repeat(500));
    assert.equal(fitReferralValue('name', 'x'.repeat(500), 255).value, 'x'.repeat(255));
  });
});

describe('defaults and fitting in the inbound mapping', () => {
  it('defaults a missing close date to the creation date plus 90 days and says so', () => {
    const referral = sampleReferral({ createdDateTime: '2026-12-02T10:00:00Z' });
    delete (referral.details as Record<string, unknown>).closingDateTime;
    const mapped = mapReferralToOpportunity(referral, defaultMapping);
    assert.equal(mapped.fields.CloseDate, '2027-03-02');
    assert.deepEqual(mapped.defaulted, ['CloseDate']);
    assert.deepEqual(
      mapped.notes.map((note) => note.message),
      ['CloseDate defaulted to "2027-03-02" (createdDateTime + 90 days)'],
    );
  });

  it('takes the real closing date once Partner Center has one', () => {
    const mapped = mapReferralToOpportunity(
      sampleReferral({ createdDateTime: '2026-12-02T10:00:00Z' }),
      defaultMapping,
    );
    assert.equal(mapped.fields.CloseDate, '2026-03-24');
    assert.deepEqual(mapped.defaulted, []);
  });

  it('names a blank referral after its customer and gives a referral without status the on-hold stage on create only', () => {
    const mapped = mapReferralToOpportunity(
      sampleReferral({ name: '  ', status: 'None', substatus: 'None' }),
      defaultMapping,
    );
    assert.equal(mapped.fields.Name, 'Contoso Ltd');
    assert.equal(mapped.fields.StageName, undefined, 'an update leaves the stage alone');
    assert.deepEqual(mapped.createOnly, { StageName: 'Prospecting' });
  });

  it('truncates a 300-character name and a long customer city to their fields', () => {
    const referral = sampleReferral({ name: 'N'.repeat(300) });
    (referral.customerProfile as { address: Record<string, unknown> }).address.city = 'C'.repeat(60);
    const mapped = mapReferralToOpportunity(referral, defaultMapping);
    assert.equal(mapped.fields.Name, 'N'.repeat(120));
    assert.equal(mapped.customer?.city, 'C'.repeat(40));
    assert.deepEqual(
      mapped.notes.map((note) => note.message),
      ['Name truncated from 300 to 120 characters', 'Account BillingCity truncated from 60 to 40 characters'],
    );
  });

  it('refuses a deal value the Amount field cannot hold, naming the field', () => {
    const referral = sampleReferral();
    (referral.details as Record<string, unknown>).dealValue = 1e17;
    assert.throws(
      () => mapReferralToOpportunity(referral, defaultMapping),
      (error: unknown) =>
        error instanceof RelayError &&
        error.code === 'VALIDATION_FAILED' &&
        /Amount: .* does not fit the field/.test(error.message),
    );
  });
});

describe('outbound stand-in values', () => {
  it('does not send back a truncated name, a defaulted close date or a rounded amount', () => {
    const referral = sampleReferral({ name: 'N'.repeat(300), createdDateTime: '2026-12-02T10:00:00Z' });
    const details = referral.details as Record<string, unknown>;
    delete details.closingDateTime;
    details.dealValue = 10.555;
    const opportunity = {
      Name: 'N'.repeat(120),
      CloseDate: '2027-03-02',
      Amount: 10.56,
      StageName: 'Qualification',
      IsWon: false,
      IsClosed: false,
    };
    const desired = {
      name: 'N'.repeat(120),
      'details.closingDateTime': '2027-03-02T00:00:00Z',
      'details.dealValue': 10.56,
    };
    assert.deepEqual(withoutInboundEchoes(desired, opportunity, referral, defaultMapping), {});
  });

  it('keeps what the seller changed', () => {
    const referral = sampleReferral({ name: 'N'.repeat(300) });
    const opportunity = {
      Name: 'Seller name',
      CloseDate: '2026-04-01',
      Amount: 30000,
      StageName: 'Qualification',
    };
    const desired = {
      name: 'Seller name',
      'details.closingDateTime': '2026-04-01T00:00:00Z',
      'details.dealValue': 30000,
    };
    assert.deepEqual(withoutInboundEchoes(desired, opportunity, referral, defaultMapping), {
      name: 'Seller name',
      'details.closingDateTime': '2026-04-01T00:00:00Z',
    });
  });
});
