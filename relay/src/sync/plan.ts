/**
 * The mapping's dry run for one pair: field by field, what each side holds, which transform maps
 * it, whether the two differ, and what the relay would write on each side now, with the rule that
 * decided. Pure: the referral, the deal (with its account) and the last agreement in, a plan out.
 * It applies what the jobs apply to a pair whose both sides are read: the direction, the pause of
 * inbound updates and the ownership rule (conflict.ts); it writes nothing.
 */
import { isRelayError } from '../errors.ts';
import { canonicalFromOpportunity, canonicalFromReferral, stableStringify } from './canonical.ts';
import { resolveConflict } from './conflict.ts';
import { mapReferralToOpportunity } from './inbound.ts';
import type { FieldMapping, Mapping } from './mappingTypes.ts';
import { mapOpportunityToReferral } from './outbound.ts';
import type { OpportunityView } from './outbound.ts';
import type { Referral } from './referral.ts';
import { getTransform } from './transforms.ts';

export interface FieldPlan {
  name: string;
  transform: string;
  direction: string;
  owner: string | null;
  dealField: string;
  referralPath: string;
  /** Each side's value in the mapping's common form (undefined: that side has no record). */
  dealValue: unknown;
  referralValue: unknown;
  differs: boolean;
  /** What the inbound sync would write to the deal field, when it would write it. */
  toDeal?: unknown;
  /** What the outbound sync would send to the referral path, when it would send it. */
  toReferral?: unknown;
  /** Why (or why not), in the audit trail's words. */
  rule: string;
}

export interface PairPlan {
  fields: FieldPlan[];
  /** Values that cannot be written as they are (the inbound sync would refuse the referral). */
  problems: string[];
}

const same = (a: unknown, b: unknown) => stableStringify(a ?? null) === stableStringify(b ?? null);

export function planPair(input: {
  referral: Referral | null;
  deal: OpportunityView | null;
  lastAgreed: Record<string, unknown> | null;
  mapping: Mapping;
}): PairPlan {
  const { referral, deal, mapping } = input;
  const problems: string[] = [];
  let inbound: Record<string, unknown> = {};
  if (referral) {
    try {
      const mapped = mapReferralToOpportunity(referral, mapping);
      inbound = deal ? mapped.fields : { ...mapped.createOnly, ...mapped.fields };
    } catch (error) {
      if (!isRelayError(error)) throw error;
      problems.push(
        ...(((error.details as { problems?: string[] } | undefined)?.problems ?? [
          error.message,
        ]) as string[]),
      );
    }
  }
  const outbound = deal ? mapOpportunityToReferral(deal, mapping) : {};
  const dealCanonical = deal ? canonicalFromOpportunity(deal.opportunity, mapping) : null;
  const referralCanonical = referral ? canonicalFromReferral(referral, mapping) : null;
  const resolution =
    referral && deal
      ? resolveConflict({ lastSynced: input.lastAgreed, salesforce: deal, partnerCenter: referral, mapping })
      : null;
  const decisions = new Map((resolution?.decisions ?? []).map((d) => [d.field, d]));

  const planOf = (entry: FieldMapping): FieldPlan => {
    const comparable = !getTransform(entry.transform).inboundOnly;
    const dealValue = deal
      ? comparable
        ? dealCanonical?.[entry.name]
        : (deal.opportunity[entry.opportunity] ?? null)
      : undefined;
    const referralValue = referral
      ? comparable
        ? referralCanonical?.[entry.name]
        : (inbound[entry.opportunity] ?? null)
      : undefined;
    const base = {
      name: entry.name,
      transform: entry.transform,
      direction: entry.direction,
      owner: entry.owner ?? null,
      dealField: entry.opportunity,
      referralPath: entry.referral,
      dealValue,
      referralValue,
      differs: deal !== null && referral !== null && !same(dealValue, referralValue),
    };
    if (entry.transform === 'account')
      return {
        ...base,
        differs: false,
        rule: 'the customer: matched to an account by name and postal code, or created, on a new deal',
      };
    if (!referral) {
      if (entry.direction === 'inbound') return { ...base, rule: 'no referral yet' };
      return {
        ...base,
        toReferral: outbound[entry.referral] ?? null,
        rule: 'no referral yet: the outbound sync creates it with this value',
      };
    }
    if (!deal) {
      if (entry.direction === 'outbound') return { ...base, rule: 'no deal yet' };
      return Object.hasOwn(inbound, entry.opportunity)
        ? {
            ...base,
            toDeal: inbound[entry.opportunity],
            rule: 'no deal yet: the inbound sync creates it with this value',
          }
        : { ...base, rule: 'no deal yet; the referral has no value for it' };
    }
    if (!base.differs) return { ...base, rule: 'the same on both sides: nothing to write' };
    if (entry.direction === 'inbound') {
      if (entry.inboundUpdates === false)
        return { ...base, rule: "Partner Center's updates of it are paused in the mapping" };
      return { ...base, toDeal: inbound[entry.opportunity] ?? null, rule: 'one-way from Partner Center' };
    }
    if (entry.direction === 'outbound')
      return { ...base, toReferral: outbound[entry.referral] ?? null, rule: 'one-way to Partner Center' };
    const decision = decisions.get(entry.name);
    if (!decision) return { ...base, rule: "Partner Center's update of it is paused in the mapping" };
    return decision.winner === 'salesforce'
      ? { ...base, toReferral: resolution?.toPartnerCenter[entry.referral] ?? null, rule: decision.reason }
      : { ...base, toDeal: resolution?.toSalesforce[entry.opportunity] ?? null, rule: decision.reason };
  };
  return { fields: mapping.fields.map(planOf), problems };
}
