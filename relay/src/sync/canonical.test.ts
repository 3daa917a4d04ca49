import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalFromOpportunity, canonicalFromReferral, fingerprint } from './canonical.ts';
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
