import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  agreedSoFar,
  agreedValues,
  canonicalFromOpportunity,
  canonicalFromReferral,
  fingerprint,
  sameValue,
} from './canonical.ts';
import { ISO_3166_ALPHA_2, isIsoCountryCode } from './countryCodes.ts';
import { defaultMapping, sampleOpportunity, sampleReferral } from './testFixtures.ts';

describe('canonical values and fingerprints', () => {
  it('gives a synced Opportunity and its referral the same canonical values', () => {
    const fromOpportunity = canonicalFromOpportunity(
      sampleOpportunity({ StageName: 'Negotiation/Review' }),
      defaultMapping,
    );
    const fromReferral = canonicalFromReferral(sampleReferral(), defaultMapping);
    assert.deepEqual(fromOpportunity, fromReferral);
    assert.equal(fromReferral.stage, 'active');
    assert.equal(fingerprint(fromOpportunity), fingerprint(fromReferral));
  });

  it('is independent of key order and sensitive to values', () => {
    assert.equal(
      fingerprint({ a: 1, b: { c: [1, 2], d: null } }),
      fingerprint({ b: { d: null, c: [1, 2] }, a: 1 }),
    );
    assert.notEqual(fingerprint({ a: 1 }), fingerprint({ a: 2 }));
    assert.notEqual(fingerprint({ a: [1, 2] }), fingerprint({ a: [2, 1] }));
    assert.match(fingerprint({}), /^[0-9a-f]{64}$/);
  });

  it('changes when a mapped value changes', () => {
    const before = fingerprint(canonicalFromOpportunity(sampleOpportunity(), defaultMapping));
    const after = fingerprint(canonicalFromOpportunity(sampleOpportunity({ Amount: 30001 }), defaultMapping));
    assert.notEqual(before, after);
  });

  it('knows the 249 assigned ISO 3166 alpha-2 codes', () => {
    assert.equal(ISO_3166_ALPHA_2.size, 249);
    assert.equal(isIsoCountryCode('de'), true);
    assert.equal(isIsoCountryCode('UK'), false, 'the United Kingdom is GB');
    assert.equal(isIsoCountryCode('USA'), false);
  });
});

describe('agreedValues', () => {
  it('keeps the last agreed value of a field Partner Center moved on alone', () => {
    // The seller changed the name, the partner the notes; the outbound job sent the name only.
    const { values, allAgree } = agreedValues(
      { name: 'B', notes: 'old' },
      { name: 'B', notes: 'partner' },
      { name: 'A', notes: 'old' },
    );
    assert.deepEqual(values, { name: 'B', notes: 'old' });
    assert.equal(allAgree, false);
  });

  it("takes Salesforce's value for a differing field never agreed before", () => {
    assert.deepEqual(agreedValues({ notes: 'sf' }, { notes: 'pc' }, null).values, { notes: 'sf' });
  });

  it('agrees on everything when both sides hold the same values, whatever came before', () => {
    fc.assert(
      fc.property(
        // Canonical values are keyed by mapping entry names.
        fc.dictionary(
          fc.constantFrom('name', 'notes', 'amount', 'stage'),
          fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        ),
        fc.option(fc.dictionary(fc.constantFrom('name', 'notes'), fc.string()), { nil: null }),
        (both, previous) => {
          const { values, allAgree } = agreedValues({ ...both }, { ...both }, previous);
          assert.equal(allAgree, true);
          assert.deepEqual(values, { ...both });
        },
      ),
    );
  });

  it('never records a value for a differing field that neither the last agreement nor Salesforce holds', () => {
    const record = fc.dictionary(
      fc.constantFrom('name', 'notes', 'amount'),
      fc.oneof(fc.string(), fc.integer()),
    );
    fc.assert(
      fc.property(record, record, fc.option(record, { nil: null }), (sf, pc, previous) => {
        const { values } = agreedValues(sf, pc, previous);
        for (const name of Object.keys(pc)) {
          if (sameValue(sf[name], pc[name])) continue;
          const expected = previous && Object.hasOwn(previous, name) ? previous[name] : sf[name];
          assert.ok(sameValue(values[name], expected), name);
        }
      }),
    );
  });
});

describe('agreedSoFar', () => {
  it('counts the pending values the Opportunity holds, and only those', () => {
    const last = { name: 'Old', notes: 'old notes', amount: 10 };
    const pending = { name: 'New', notes: 'new notes', amount: 20 };
    assert.deepEqual(agreedSoFar(last, pending, { name: 'New', notes: 'seller typed', amount: 20 }), {
      name: 'New',
      notes: 'old notes',
      amount: 20,
    });
  });

  it('leaves the agreement alone with nothing pending or nothing landed, and starts one from pending alone', () => {
    const last = { name: 'Old' };
    assert.equal(agreedSoFar(last, null, { name: 'New' }), last);
    assert.equal(agreedSoFar(last, { name: 'New' }, { name: 'Other' }), last);
    assert.equal(agreedSoFar(null, { name: 'New' }, { name: 'Other' }), null);
    assert.deepEqual(agreedSoFar(null, { name: 'New' }, { name: 'New' }), { name: 'New' });
  });
});
