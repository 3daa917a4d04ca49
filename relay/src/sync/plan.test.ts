import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalFromOpportunity } from './canonical.ts';
import { planPair } from './plan.ts';
import { defaultMapping, sampleOpportunity, sampleReferral } from './testFixtures.ts';

const agreed = canonicalFromOpportunity(sampleOpportunity(), defaultMapping);
const view = (values: Record<string, unknown> = {}) => ({
  opportunity: sampleOpportunity(values),
  account: null,
});
const field = (plan: ReturnType<typeof planPair>, name: string) => {
  const found = plan.fields.find((f) => f.name === name);
  assert.ok(found, name);
  return found;
};

describe('planPair (mapping dry run)', () => {
  it('writes nothing where both sides agree', () => {
    const plan = planPair({
      referral: sampleReferral(),
      deal: view(),
      lastAgreed: agreed,
      mapping: defaultMapping,
    });
    const dealValue = field(plan, 'dealValue');
    assert.equal(dealValue.differs, false);
    assert.equal(dealValue.toDeal, undefined);
    assert.equal(dealValue.toReferral, undefined);
    assert.equal(dealValue.rule, 'the same on both sides: nothing to write');
    assert.equal(dealValue.transform, 'number');
  });

  it("sends the seller's change, brings Partner Center's over, and names the rule", () => {
    const referral = sampleReferral({
      details: { ...(sampleReferral().details as object), notes: 'Partner notes' },
    });
    const plan = planPair({
      referral,
      deal: view({ Amount: 2000 }),
      lastAgreed: agreed,
      mapping: defaultMapping,
    });
    assert.deepEqual(
      { differs: field(plan, 'dealValue').differs, toReferral: field(plan, 'dealValue').toReferral },
      { differs: true, toReferral: 2000 },
    );
    assert.equal(field(plan, 'dealValue').rule, 'changed only in Salesforce since the last sync');
    assert.equal(field(plan, 'notes').toDeal, 'Partner notes');
    assert.equal(field(plan, 'notes').toReferral, undefined);
  });

  it('plans a create on the missing side, and reports a value that cannot be written', () => {
    const noDeal = planPair({
      referral: sampleReferral(),
      deal: null,
      lastAgreed: null,
      mapping: defaultMapping,
    });
    assert.equal(field(noDeal, 'name').toDeal, sampleReferral().name);
    assert.match(field(noDeal, 'name').rule, /creates it/);
    const noReferral = planPair({ referral: null, deal: view(), lastAgreed: null, mapping: defaultMapping });
    assert.equal(field(noReferral, 'dealValue').toReferral, sampleOpportunity().Amount);
    const tooLarge = planPair({
      referral: sampleReferral({ details: { ...(sampleReferral().details as object), dealValue: 1e20 } }),
      deal: view(),
      lastAgreed: agreed,
      mapping: defaultMapping,
    });
    assert.ok(
      tooLarge.problems.some((p) => /Amount/.test(p)),
      tooLarge.problems.join('; '),
    );
  });
});
