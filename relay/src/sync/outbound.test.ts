import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelayError } from '../errors.ts';
import type { OpportunityView } from './outbound.ts';
import {
  buildCreateRequests,
  mapOpportunityToReferral,
  validateForCreate,
  withEngagementId,
} from './outbound.ts';
import { defaultMapping, sampleOpportunity } from './testFixtures.ts';

function view(
  opportunity: Record<string, unknown> = {},
  rest: Partial<OpportunityView> = {},
): OpportunityView {
  return {
    opportunity: sampleOpportunity(opportunity),
    account: {
      Name: 'Contoso Ltd',
      BillingStreet: 'One Microsoft Way\nBuilding 34',
      BillingCity: 'Redmond',
      BillingState: 'WA',
      BillingPostalCode: '98052',
      BillingCountry: 'us',
    },
    primaryContact: { firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com', phone: null },
    ...rest,
  };
}

describe('outbound mapping', () => {
  it('maps the outbound and both entries to referral paths', () => {
    assert.deepEqual(mapOpportunityToReferral(view(), defaultMapping), {
      name: 'Contoso migration',
      'details.dealValue': 30000,
      'details.currency': 'USD',
      'details.closingDateTime': '2026-03-24T00:00:00Z',
      'details.notes': 'Needs a landing zone',
      status: 'Active',
      substatus: 'Accepted',
      'inviteContext.assistanceRequestCode': 'ProofOfConceptOrDemo',
      'details.requirements.solutions': [{ id: 'SOL-6115380-IPC', type: 'Name' }],
      'consent.consentToShareReferralWithMicrosoftSellers': true,
    });
  });

  it('asks no status change while the Opportunity is on hold', () => {
    const values = mapOpportunityToReferral(view({ StageName: 'Prospecting' }), defaultMapping);
    assert.equal(Object.hasOwn(values, 'status'), false);
    assert.equal(Object.hasOwn(values, 'substatus'), false);
  });
});

describe('validateForCreate', () => {
  it('accepts a complete co-sell Opportunity', () => {
    assert.deepEqual(validateForCreate(view(), defaultMapping), []);
  });

  it("refuses a solution id that is not one of the partner's configured solutions", () => {
    const known = new Set(['SOL-6115380-IPC', 'SOL-34104-EBB']);
    assert.deepEqual(validateForCreate(view(), defaultMapping, { knownSolutions: known }), []);
    assert.deepEqual(
      validateForCreate(
        view({ Partner_Center_Solutions__c: 'sol-34104-ebb;SOL-99999-XYZ' }),
        defaultMapping,
        {
          knownSolutions: known,
        },
      ),
      [
        'Partner_Center_Solutions__c: "SOL-99999-XYZ" is not one of this partner\'s solutions (SOL-6115380-IPC, SOL-34104-EBB)',
      ],
    );
    // No list configured: any well-formed id passes.
    assert.deepEqual(
      validateForCreate(view({ Partner_Center_Solutions__c: 'SOL-99999-XYZ' }), defaultMapping),
      [],
    );
  });

  it('names each Salesforce field that blocks the create', () => {
    const reasons = validateForCreate(
      view(
        { Partner_Center_Solutions__c: 'SOL-1-AAA;Azure stuff', Amount: -5 },
        {
          account: { Name: ' ', BillingCountry: 'United States' },
          primaryContact: { firstName: 'Sue', email: '' },
        },
      ),
      defaultMapping,
    );
    assert.deepEqual(reasons, [
      "Account Name is empty: Partner Center needs the customer's name",
      'Account BillingCountry "United States" is not an ISO 3166 two-letter country code (for example US, DE)',
      'Partner_Center_Solutions__c: "Azure stuff" is not a solution id (expected SOL-12345-ABC or a GUID)',
      "How_can_Microsoft_help__c asks for Microsoft's help, which needs a customer contact: add a primary contact role with an email address",
      'Amount is -5: the deal value must be a number, 0 or more',
    ]);
  });

  it('requires at least one solution and an Account', () => {
    const reasons = validateForCreate(
      view({ Partner_Center_Solutions__c: null }, { account: null }),
      defaultMapping,
    );
    assert.equal(reasons.length, 2);
    assert.match(reasons[0], /^The Opportunity has no Account/);
    assert.match(reasons[1], /^Partner_Center_Solutions__c is empty/);
  });

  it('needs no contact when no help is requested', () => {
    const reasons = validateForCreate(
      view({ How_can_Microsoft_help__c: null }, { primaryContact: null }),
      defaultMapping,
    );
    assert.deepEqual(reasons, []);
  });

  it('accepts GUID solution ids and a deal value of 0', () => {
    const reasons = validateForCreate(
      view({ Partner_Center_Solutions__c: 'd84be20e-6710-42f5-a009-5e72a9ad50bf', Amount: 0 }),
      defaultMapping,
    );
    assert.deepEqual(reasons, []);
  });
});

describe('buildCreateRequests', () => {
  it('creates one Independent referral when no help is requested', () => {
    const bodies = buildCreateRequests(
      view({ How_can_Microsoft_help__c: null, Referral_Visibility__c: false }),
      defaultMapping,
    );
    assert.equal(bodies.length, 1);
    const [body] = bodies;
    assert.equal(body.type, 'Independent');
    assert.equal(body.externalReferenceId, '006000000000001AAA');
    assert.deepEqual(body.target, []);
    assert.equal(body.inviteContext, undefined);
    assert.equal(body.status, undefined);
    assert.deepEqual(body.consent, { consentToShareReferralWithMicrosoftSellers: false });
    assert.deepEqual(body.customerProfile, {
      name: 'Contoso Ltd',
      address: {
        addressLine1: 'One Microsoft Way',
        addressLine2: 'Building 34',
        city: 'Redmond',
        state: 'WA',
        postalCode: '98052',
        country: 'US',
      },
      team: [{ firstName: 'Sue', lastName: 'Smith', email: 'sue@contoso.com' }],
    });
    assert.deepEqual(body.details, {
      dealValue: 30000,
      currency: 'USD',
      closingDateTime: '2026-03-24T00:00:00Z',
      notes: 'Needs a landing zone',
      requirements: { solutions: [{ id: 'SOL-6115380-IPC', type: 'Name' }] },
    });
  });

  it('creates the shared co-sell pair when help is requested', () => {
    const [first, forMicrosoft] = buildCreateRequests(
      view({ Referral_Visibility__c: false, Partner_Center_Solutions__c: 'SOL-2-BBB;SOL-1-AAA' }),
      defaultMapping,
    );
    assert.equal(first.type, 'Shared');
    assert.deepEqual(first.target, [{ type: 'SolutionProfile', id: 'SOL-2-BBB' }]);
    assert.equal(
      first.consent.consentToShareReferralWithMicrosoftSellers,
      true,
      'help makes the referral visible',
    );
    assert.equal(forMicrosoft.type, 'Shared');
    assert.deepEqual(forMicrosoft.target, [{ type: 'BusinessProfileLocation', id: 'msft' }]);
    assert.deepEqual(forMicrosoft.inviteContext, { assistanceRequestCode: 'ProofOfConceptOrDemo' });
    assert.equal(forMicrosoft.engagementId, undefined);
    const completed = withEngagementId(forMicrosoft, '65921e35-4f28-472f-9ae4-58ddd6ae6270');
    assert.equal(completed.engagementId, '65921e35-4f28-472f-9ae4-58ddd6ae6270');
    assert.equal(forMicrosoft.engagementId, undefined, 'the original body is not changed');
    assert.throws(() => withEngagementId(forMicrosoft, ''), /without an engagementId/);
  });

  it('refuses to build a body for an Opportunity that fails validation', () => {
    assert.throws(
      () =>
        buildCreateRequests(
          view({}, { account: { Name: 'Contoso', BillingCountry: 'USA' } }),
          defaultMapping,
        ),
      (error: unknown) =>
        error instanceof RelayError &&
        error.code === 'VALIDATION_FAILED' &&
        (error.details?.reasons as string[])[0].startsWith('Account BillingCountry "USA"'),
    );
  });
});
