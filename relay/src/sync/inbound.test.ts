import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../errors.ts';
import { customerToAccountFields, mapReferralToOpportunity } from './inbound.ts';
import { defaultMapping, sampleReferral } from './testFixtures.ts';

describe('inbound mapping', () => {
  it('maps a referral to Opportunity fields and a customer', () => {
    const { fields, customer } = mapReferralToOpportunity(sampleReferral(), defaultMapping);
    assert.deepEqual(fields, {
      Name: 'Contoso migration',
      Amount: 30000,
      CurrencyIsoCode: 'USD',
      CloseDate: '2026-03-24',
      Description: 'Needs a landing zone',
      StageName: 'Qualification',
      Referral_Status__c: 'Active',
      Referral_Substatus__c: 'Accepted',
      Referral_Identifier__c: '5dd4dc44-2c1a-4e16-8478-f783ebe815de',
      Referral_Link__c:
        'https://partner.microsoft.com/dashboard/referrals/v2/opportunities/5dd4dc44-2c1a-4e16-8478-f783ebe815de',
      How_can_Microsoft_help__c: 'ProofOfConceptOrDemo',
      Partner_Center_Solutions__c: 'SOL-6115380-IPC',
      Referral_Visibility__c: true,
      Microsoft_CRM_Identifier__c: '7-ABCDEF',
      // Seven fractional digits in Partner Center, the millisecond in Salesforce.
      Referral_Created_Date__c: '2026-01-15T09:30:00.123Z',
    });
    assert.deepEqual(customer, {
      name: 'Contoso Ltd',
      street: 'Lake hills',
      city: 'Bellevue',
      state: 'WA',
      postalCode: '98004',
      country: 'US',
    });
    assert.deepEqual(customerToAccountFields(customer, defaultMapping), {
      Name: 'Contoso Ltd',
      BillingStreet: 'Lake hills',
      BillingCity: 'Bellevue',
      BillingState: 'WA',
      BillingPostalCode: '98004',
      BillingCountry: 'US',
    });
  });

  it('blanks unset help, absent data and empty solutions', () => {
    const referral = sampleReferral({
      status: 'New',
      substatus: 'Pending',
      inviteContext: { assistanceRequestCode: 'Unknown' },
      consent: {},
      details: { dealValue: '1500.50', requirements: { solutions: [] } },
      trackingInfo: { microsoftMsxId: null },
      createdDateTime: undefined,
    });
    const { fields } = mapReferralToOpportunity(referral, defaultMapping);
    assert.equal(fields.StageName, 'Prospecting');
    assert.equal(fields.How_can_Microsoft_help__c, null);
    assert.equal(fields.Referral_Visibility__c, false);
    assert.equal(fields.Amount, 1500.5);
    assert.equal(fields.Partner_Center_Solutions__c, null);
    assert.equal(fields.CloseDate, null);
    assert.equal(fields.Microsoft_CRM_Identifier__c, null);
    assert.equal(fields.Referral_Created_Date__c, null);
  });

  it('leaves the stage alone when the referral status is None', () => {
    const { fields } = mapReferralToOpportunity(
      sampleReferral({ status: 'None', substatus: 'None' }),
      defaultMapping,
    );
    assert.equal(Object.hasOwn(fields, 'StageName'), false);
    assert.equal(fields.Referral_Status__c, null);
  });

  it('names the entry when a value cannot be converted', () => {
    const referral = sampleReferral({ details: { dealValue: 'lots' } });
    assert.throws(
      () => mapReferralToOpportunity(referral, defaultMapping),
      (error: unknown) =>
        error instanceof RelayError &&
        /dealValue \(Amount ↔ details.dealValue\): "lots" is not a number/.test(error.message),
    );
  });

  it('returns no customer for a profile without a name', () => {
    const { customer } = mapReferralToOpportunity(
      sampleReferral({ customerProfile: { address: { country: 'US' } } }),
      defaultMapping,
    );
    assert.equal(customer, null);
  });
});
