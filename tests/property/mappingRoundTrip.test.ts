/**
 * Property-based checks of the mapping against the sandboxes' own rules (not copies of them):
 * every referral generated from the referral schema becomes an Opportunity write the Salesforce
 * sandbox's record store accepts, or a named permanent error; its round trip back to Partner
 * Center sends nothing; every Opportunity generated from the field definitions becomes a referral
 * write the Partner Center sandbox's store accepts, or a named permanent error. Pure and in
 * memory, so 500 of each run in a few seconds. A failure prints the seed to replay it with
 * PROPERTY_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createReferralStore, ReferralError } from '../../relay/sandbox/partner-center/referralStore.ts';
import { createRecordStore, RecordWriteError } from '../../relay/sandbox/salesforce/recordStore.ts';
import { createSchemaRegistry } from '../../relay/sandbox/salesforce/schema.ts';
import type { FieldDefinition } from '../../relay/sandbox/salesforce/schema.ts';
import { isPermanent } from '../../relay/src/jobs/syncTask.ts';
import { classifySalesforceError } from '../../relay/src/crm/salesforce/adapter.ts';
import { toRelayError } from '../../relay/src/crm/salesforce/opportunityGateway.ts';
import { RelayError } from '../../relay/src/errors.ts';
import {
  buildCreateRequests,
  customerToAccountFields,
  fitReferralValues,
  formatAuditLine,
  mapOpportunityToReferral,
  mapReferralToOpportunity,
  planReferralPatch,
  withEngagementId,
  withoutInboundEchoes,
} from '../../relay/src/sync/index.ts';
import type { Referral } from '../../relay/src/sync/index.ts';
import {
  ASSISTANCE_REQUEST_CODES,
  REFERRAL_STATUSES,
  REFERRAL_SUBSTATUSES,
} from '../../relay/src/sync/referralSchema.ts';
import { defaultMapping as mapping } from '../../relay/src/sync/testFixtures.ts';

const salesforce = { classifyError: classifySalesforceError };

const SEED = Number(process.env.PROPERTY_SEED ?? 20261202);
const RUNS = 500;
const USER_ID = '005000000000001AAA';
const schema = createSchemaRegistry();

/** Runs a property with the fixed seed; a failure names the seed and the counterexample. */
function check<T>(name: string, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void): void {
  const details = fc.check(
    fc.property(arbitrary, (value) => {
      predicate(value);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  if (details.failed) {
    throw new Error(
      `${name}: failed after ${details.numRuns} runs with seed ${SEED} (replay: PROPERTY_SEED=${SEED}, path ${details.counterexamplePath})\n` +
        `counterexample: ${fc.stringify(details.counterexample)}\n${String(details.errorInstance)}`,
      { cause: details.errorInstance },
    );
  }
  assert.equal(details.numRuns, RUNS);
}

/** Salesforce record errors the relay must never cause: fitting and defaults are there to prevent them. */
const PREVENTED = new Set(['STRING_TOO_LONG', 'REQUIRED_FIELD_MISSING', 'INVALID_TYPE_ON_FIELD_IN_RECORD']);

/** A refusal from the Salesforce sandbox, as the relay's gateway reports it: it must be permanent and named. */
function assertNamedPermanent(error: unknown, what: string): void {
  if (!(error instanceof RecordWriteError)) throw error;
  for (const failure of error.errors) {
    assert.ok(
      !PREVENTED.has(failure.statusCode),
      `${what}: the relay caused ${failure.statusCode}: ${failure.message}`,
    );
    const relayError = toRelayError(
      { errorCode: failure.statusCode, message: failure.message, data: { fields: failure.fields } },
      what,
    );
    assert.ok(
      isPermanent(relayError, salesforce),
      `${what}: ${failure.statusCode} should end the job as permanent`,
    );
    assert.match(relayError.message, new RegExp(failure.statusCode));
  }
}

// ---- referrals from the referral schema ----------------------------------------------------------

const longText = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.string({ unit: 'binary', minLength: Math.max(0, max - 10), maxLength: max + 80 }),
    fc.string({ unit: 'grapheme', minLength: Math.max(0, max - 10), maxLength: max + 20 }),
  );
const maybe = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof(arbitrary, fc.constant(null), fc.constant(undefined));
const blankOr = (arbitrary: fc.Arbitrary<string>) =>
  fc.oneof(arbitrary, fc.constant(''), fc.constant('   '), fc.constant(null));
const isoDateTime = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true })
  .map((date) => date.toISOString());
const COUNTRIES = ['US', 'DE', 'GB', 'JP', 'FR', 'IN', 'BR'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];

const member = fc.record(
  {
    firstName: maybe(longText(40)),
    lastName: maybe(longText(80)),
    email: maybe(fc.emailAddress()),
    phoneNumber: maybe(fc.string({ maxLength: 20 })),
    title: maybe(fc.string({ maxLength: 20 })),
  },
  { requiredKeys: [] },
);

const address = fc.record(
  {
    addressLine1: maybe(blankOr(longText(255))),
    addressLine2: maybe(blankOr(longText(255))),
    city: maybe(blankOr(longText(40))),
    state: maybe(blankOr(longText(80))),
    postalCode: maybe(blankOr(longText(20))),
    country: fc.oneof(fc.constantFrom(...COUNTRIES), fc.constant(''), fc.constant(null)),
    region: maybe(fc.string({ maxLength: 4 })),
  },
  { requiredKeys: [] },
);

const customerProfile = fc.record(
  {
    name: blankOr(longText(255)),
    size: fc.oneof(
      fc.constant(''),
      fc.constantFrom('1to50employees', 'Morethan500employees'),
      fc.constant(null),
    ),
    address: maybe(address),
    // Real captures show the team as a single object as well as an array (UNCONFIRMED).
    team: fc.oneof(fc.array(member, { maxLength: 3 }), member, fc.constant(null)),
    isMatchingComplete: fc.boolean(),
  },
  { requiredKeys: [] },
);

const solution = fc.record(
  {
    id: fc.oneof(
      fc.constantFrom('SOL-34104-EBB', 'SOL-6115380-IPC', 'd84be20e-6710-42f5-a009-5e72a9ad50bf'),
      fc.stringMatching(/^SOL-[0-9]{3,7}-[A-Z]{3}$/),
    ),
    name: maybe(fc.string({ maxLength: 40 })),
    type: fc.constantFrom('Name', 'Category', 'None'),
  },
  { requiredKeys: ['id'] },
);

const details = fc.record(
  {
    notes: maybe(blankOr(longText(32000))),
    dealValue: fc.oneof(
      fc.double({ min: 0, max: 1e12, noNaN: true }),
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.integer({ min: 0, max: 10_000_000 }).map(String),
      fc.constant(null),
      fc.constant(1e17),
    ),
    // Lower case and unknown codes are real-world shapes the org's restricted currency list refuses.
    currency: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...CURRENCIES) },
      { weight: 1, arbitrary: fc.constantFrom('', 'usd', 'XYZ') },
      { weight: 1, arbitrary: fc.constant(null) },
    ),
    closingDateTime: fc.oneof(isoDateTime, fc.constant(null), fc.constant('')),
    requirements: maybe(
      fc.record(
        {
          solutions: fc.oneof(fc.array(solution, { maxLength: 4 }), fc.constant(null)),
          industries: fc.array(fc.record({ id: fc.string({ maxLength: 10 }) }), { maxLength: 2 }),
        },
        { requiredKeys: [] },
      ),
    ),
    customerRequestedContact: fc.constant(null),
  },
  { requiredKeys: [] },
);

const statusPair = fc.constantFrom(
  ...REFERRAL_STATUSES.flatMap((status) => REFERRAL_SUBSTATUSES.map((substatus) => ({ status, substatus }))),
);

const referralArbitrary: fc.Arbitrary<Referral> = fc
  .record(
    {
      id: fc.uuid(),
      engagementId: fc.uuid(),
      name: maybe(blankOr(longText(120))),
      pair: statusPair,
      type: maybe(fc.constantFrom('Independent', 'Shared')),
      qualification: maybe(fc.constantFrom('None', 'Direct', 'MarketingQualified', 'SalesQualified')),
      createdDateTime: isoDateTime,
      statusReason: maybe(fc.string({ maxLength: 40 })),
      customerProfile: maybe(customerProfile),
      consent: maybe(
        fc.record(
          {
            consentToToShareInfoWithOthers: maybe(fc.boolean()),
            consentToShareReferralWithMicrosoftSellers: maybe(fc.boolean()),
          },
          { requiredKeys: [] },
        ),
      ),
      details: maybe(details),
      inviteContext: maybe(
        fc.record(
          {
            notes: maybe(fc.string({ maxLength: 40 })),
            assistanceRequestCode: maybe(fc.constantFrom(...ASSISTANCE_REQUEST_CODES)),
            invitedBy: maybe(fc.record({ organizationId: fc.constantFrom('msft', 'b97870f2') })),
          },
          { requiredKeys: [] },
        ),
      ),
      trackingInfo: maybe(fc.record({ microsoftMsxId: maybe(fc.string({ maxLength: 100 })) })),
      // Fields the docs omit but real responses carry.
      salesStage: maybe(fc.constant('100')),
      registrations: fc.constant([]),
    },
    { requiredKeys: ['id', 'engagementId', 'pair', 'createdDateTime'] },
  )
  .map(({ pair, ...rest }) => {
    const referral: Record<string, unknown> = { ...pair };
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) referral[key] = value;
    return referral as Referral;
  });

/** The values the inbound job writes on a create, as the record store receives them. */
function createWrite(referral: Referral): {
  opportunity: Record<string, unknown>;
  account: Record<string, unknown> | null;
} {
  const mapped = mapReferralToOpportunity(referral, mapping);
  const line = formatAuditLine({ at: new Date(0), level: 'INFO', direction: 'inbound', message: 'Created' });
  return {
    opportunity: {
      ...mapped.createOnly,
      ...mapped.fields,
      Referral_Identifier__c: referral.id,
      Sync_with_Partner_Center__c: true,
      Referral_Sync_Status__c: 'Synced',
      Audit_Entry__c: line,
    },
    account: mapped.customer?.name ? customerToAccountFields(mapped.customer, mapping) : null,
  };
}

describe('the mapping against the sandboxes, for generated records', () => {
  it(`writes every generated referral (${RUNS}) as an Opportunity Salesforce accepts, or names a permanent error, and its round trip sends nothing back`, () => {
    const outcomes = { written: 0, refusedByMapping: 0, refusedBySalesforce: 0 };
    check('referral → Opportunity → referral', referralArbitrary, (referral) => {
      let write: ReturnType<typeof createWrite>;
      try {
        write = createWrite(referral);
      } catch (error) {
        outcomes.refusedByMapping += 1;
        assert.ok(error instanceof RelayError, String(error));
        assert.equal(error.code, 'VALIDATION_FAILED');
        assert.ok(isPermanent(error, salesforce));
        assert.match(error.message, /^(Referral cannot be written to Salesforce: |[a-z]+ \()/);
        return;
      }
      const store = createRecordStore({ schema });
      let record: Record<string, unknown>;
      try {
        if (write.account !== null)
          write.opportunity.AccountId = store.insert('Account', write.account, USER_ID).Id;
        record = store.insert('Opportunity', write.opportunity, USER_ID);
      } catch (error) {
        outcomes.refusedBySalesforce += 1;
        assertNamedPermanent(error, `referral ${referral.id}`);
        return;
      }
      outcomes.written += 1;
      // Back out again with no seller edit: nothing may be sent, and never a path the mapping does not own.
      const desired = fitReferralValues(
        withoutInboundEchoes(
          mapOpportunityToReferral({ opportunity: record }, mapping),
          record,
          referral,
          mapping,
        ),
        mapping,
      );
      assert.deepEqual(desired.problems, []);
      const plan = planReferralPatch(desired.values, referral);
      assert.deepEqual(plan.ops, [], `the round trip sent ${JSON.stringify(plan.ops)}`);
    });
    // Most generated referrals must reach Salesforce, or the round trip would be checked on too few.
    assert.ok(outcomes.written >= RUNS / 2, JSON.stringify(outcomes));
  });

  it(`turns every generated Opportunity (${RUNS}) into a referral write Partner Center accepts, or names a permanent error`, () => {
    const outcomes = { created: 0, refused: 0, patched: 0 };
    check('Opportunity → referral', opportunityArbitrary(), ({ opportunity, account, contact }) => {
      const referrals = createReferralStore({
        baseUrl: () => 'https://pc.test',
        now: () => new Date('2026-12-02T10:00:00Z'),
        organizationId: '7d23e5ca-19dc-4eaa-aac8-5e6b559f0d1d',
        organizationName: 'Property Partner',
        onChange: () => undefined,
      });
      const view = { opportunity, account, primaryContact: contact };
      // A create, as the outbound job sends one.
      let bodies: ReturnType<typeof buildCreateRequests> | null = null;
      try {
        bodies = buildCreateRequests(view, mapping);
      } catch (error) {
        assert.ok(error instanceof RelayError && error.code === 'VALIDATION_FAILED', String(error));
        assert.ok(isPermanent(error, salesforce));
        assert.match(error.message, /^Opportunity cannot become a referral: /);
        outcomes.refused += 1;
      }
      if (bodies !== null) {
        const [first, forMicrosoft] = bodies;
        const created = createdOrThrow(() => referrals.createAsPartner(structuredClone(first)));
        outcomes.created += 1;
        if (forMicrosoft)
          createdOrThrow(() =>
            referrals.createAsPartner(structuredClone(withEngagementId(forMicrosoft, created.engagementId))),
          );
      }
      // An update of a referral Partner Center already has.
      const existing = referrals.createAsPartner({
        name: 'Existing',
        type: 'Independent',
        customerProfile: { name: 'Contoso', address: { country: 'US' } },
        consent: {},
        details: {},
      });
      const desired = fitReferralValues(mapOpportunityToReferral(view, mapping), mapping);
      if (desired.problems.length > 0) {
        for (const problem of desired.problems) assert.match(problem, /^[a-zA-Z.]+: /);
        return;
      }
      const plan = planReferralPatch(desired.values, existing as unknown as Referral);
      if (plan.ops.length > 0) {
        createdOrThrow(() => referrals.patch(existing.id, plan.ops, existing.eTag));
        outcomes.patched += 1;
      }
    });
    // Both paths must be exercised by a good share of the generated records.
    assert.ok(outcomes.created >= RUNS / 10 && outcomes.patched >= RUNS / 2, JSON.stringify(outcomes));
  });
});

function createdOrThrow<T>(write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (error instanceof ReferralError)
      assert.fail(
        `Partner Center refused what the relay sent without the relay naming why: ${error.message}`,
      );
    throw error;
  }
}

// ---- Opportunities from the field definitions ----------------------------------------------------

function valueFor(field: FieldDefinition): fc.Arbitrary<unknown> {
  switch (field.type) {
    case 'string':
    case 'textarea':
    case 'url':
    case 'phone':
      return fc.oneof(
        fc.constant(null),
        fc.string({ maxLength: Math.min(field.length, 40) }),
        fc
          .string({ unit: 'grapheme', maxLength: Math.min(field.length, 200) })
          .map((s) => s.slice(0, field.length)),
      );
    case 'email':
      return fc.oneof(fc.constant(null), fc.emailAddress());
    case 'picklist':
      return fc.oneof(fc.constant(null), fc.constantFrom(...(field.picklistValues ?? ['A'])));
    case 'boolean':
      return fc.boolean();
    case 'currency':
    case 'double':
    case 'percent':
      return fc.oneof(
        fc.constant(null),
        fc.integer({ min: 0, max: 1_000_000_000 }).map((cents) => cents / 100),
        fc.integer({ min: -1000, max: -1 }),
      );
    case 'date':
      return fc
        .date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((date) => date.toISOString().slice(0, 10));
    default:
      return fc.constant(null);
  }
}

function opportunityArbitrary() {
  const fields = schema
    .object('Opportunity')!
    .fields.filter(
      (field) => field.createable && mapping.fields.some((entry) => entry.opportunity === field.name),
    );
  const values: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) values[field.name] = valueFor(field);
  // Weighted toward what a seller who means to share a deal fills in, so creates are exercised too.
  values.Partner_Center_Solutions__c = fc.oneof(
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant('not a solution') },
    {
      weight: 6,
      arbitrary: fc
        .array(fc.constantFrom('SOL-34104-EBB', 'SOL-6115380-IPC', 'd84be20e-6710-42f5-a009-5e72a9ad50bf'), {
          minLength: 1,
          maxLength: 3,
        })
        .map((ids) => ids.join(';')),
    },
  );
  values.How_can_Microsoft_help__c = fc.oneof(
    { weight: 2, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: valueFor(schema.field('Opportunity', 'How_can_Microsoft_help__c')!) },
  );
  return fc.record({
    opportunity: fc.record(values).map((generated) => ({
      ...generated,
      Id: '006000000000001AAA',
      Name: generated.Name ?? 'Generated opportunity',
      IsWon: generated.StageName === 'Closed Won',
      IsClosed: generated.StageName === 'Closed Won' || generated.StageName === 'Closed Lost',
    })),
    account: fc.option(
      fc.record({
        Name: fc.oneof(
          { weight: 1, arbitrary: fc.constant('') },
          { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }) },
        ),
        BillingStreet: fc.option(fc.string({ maxLength: 60 }), { nil: null }),
        BillingCity: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        BillingPostalCode: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
        BillingCountry: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...COUNTRIES) },
          { weight: 1, arbitrary: fc.constantFrom('Germany', 'us', '') },
          { weight: 1, arbitrary: fc.constant(null) },
        ),
      }),
      { nil: null, freq: 8 },
    ),
    contact: fc.option(
      fc.record({
        firstName: fc.string({ maxLength: 20 }),
        lastName: fc.string({ maxLength: 20 }),
        email: fc.option(fc.emailAddress(), { nil: null }),
      }),
      { nil: null },
    ),
  });
}
