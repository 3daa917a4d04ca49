/**
 * Who wins when both sides moved: used after a 412 on an outbound PATCH, when the referral turned
 * out to have changed under us. Per `both` entry, compared in canonical form against what was
 * last synced: changed on one side → that side wins; changed on both → the entry's owner wins.
 * The losing side is handed the winner's value, so the job writes it back and audits it instead
 * of dropping anything silently.
 */
import type { CanonicalValues } from './canonical.ts';
import { canonicalReferralValue, canonicalSalesforceValue, sameValue } from './canonical.ts';
import type { Mapping, Owner } from './mapping.ts';
import type { OpportunityView, ReferralValues } from './outbound.ts';
import type { Referral } from './referralSchema.ts';
import { readPath } from './referralSchema.ts';
import type { StatusPair } from './stage.ts';
import { getTransform } from './transforms.ts';

export interface ConflictInput {
  /** Canonical values stored after the last successful sync (canonicalFromOpportunity); null if never synced. */
  lastSynced: CanonicalValues | null;
  salesforce: OpportunityView;
  partnerCenter: Referral;
  mapping: Mapping;
}

export interface ConflictDecision {
  /** Mapping entry name. */
  field: string;
  winner: Owner;
  /** Why, in words for the audit trail. */
  reason: string;
  /** The losing side's value (canonical form), which the winner's replaces: kept for the audit trail. */
  replaced: unknown;
  /** Both sides changed the field since the last sync (or it was never synced): the owner decided. */
  bothChanged: boolean;
}

export interface ConflictResolution {
  /** Referral values by path where Salesforce won (feed to diffReferral with the fresh referral). */
  toPartnerCenter: ReferralValues;
  /** Opportunity fields where Partner Center won. */
  toSalesforce: Record<string, unknown>;
  decisions: ConflictDecision[];
}

export function resolveConflict({
  lastSynced,
  salesforce,
  partnerCenter,
  mapping,
}: ConflictInput): ConflictResolution {
  const resolution: ConflictResolution = { toPartnerCenter: {}, toSalesforce: {}, decisions: [] };
  const opportunity = salesforce.opportunity;
  for (const entry of mapping.fields) {
    if (entry.direction !== 'both' || entry.owner === undefined) continue;
    const sfValue = canonicalSalesforceValue(entry, opportunity[entry.opportunity], opportunity, mapping);
    const pcValue = canonicalReferralValue(entry, partnerCenter, mapping);
    if (sameValue(sfValue, pcValue)) continue;

    const last =
      lastSynced !== null && Object.hasOwn(lastSynced, entry.name) ? lastSynced[entry.name] : undefined;
    const sfChanged = last === undefined || !sameValue(sfValue, last);
    const pcChanged = last === undefined || !sameValue(pcValue, last);
    let winner: Owner;
    let reason: string;
    if (sfChanged && !pcChanged) {
      winner = 'salesforce';
      reason = 'changed only in Salesforce since the last sync';
    } else if (pcChanged && !sfChanged) {
      // A field whose inbound updates are paused never takes Partner Center's value.
      if (entry.inboundUpdates === false) continue;
      winner = 'partnerCenter';
      reason = 'changed only in Partner Center since the last sync';
    } else if (entry.inboundUpdates === false) {
      winner = 'salesforce';
      reason =
        "changed on both sides since the last sync; Partner Center's updates of it are paused in the mapping";
    } else {
      winner = entry.owner;
      reason = `changed on both sides since the last sync; the mapping makes ${entry.owner} its owner`;
    }
    const context = { mapping, entry, opportunity, referral: partnerCenter };
    const transform = getTransform(entry.transform);
    if (winner === 'salesforce') {
      const value = transform.toPartnerCenter(opportunity[entry.opportunity], context);
      if (entry.transform === 'stage') {
        if (value === null) {
          reason += '; the on-hold stage cannot move the referral back, so its status stays';
        } else {
          resolution.toPartnerCenter.status = (value as StatusPair).status;
          resolution.toPartnerCenter.substatus = (value as StatusPair).substatus;
        }
      } else {
        resolution.toPartnerCenter[entry.referral] = value;
      }
    } else {
      const value = transform.toSalesforce(readPath(partnerCenter, entry.referral), context);
      if (value !== undefined) resolution.toSalesforce[entry.opportunity] = value;
    }
    resolution.decisions.push({
      field: entry.name,
      winner,
      reason,
      replaced: winner === 'salesforce' ? pcValue : sfValue,
      bothChanged: sfChanged && pcChanged,
    });
  }
  return resolution;
}

/** One line per decision for the audit trail, naming the value the losing side gave up. */
export function describeDecision(decision: ConflictDecision): string {
  const loser = decision.winner === 'salesforce' ? 'Partner Center' : 'Salesforce';
  return `${decision.field}: ${decision.winner} kept (${decision.reason}); ${loser} value ${JSON.stringify(decision.replaced ?? null)} replaced`;
}

/**
 * The inbound side of the same rule: the Opportunity fields a referral change must not overwrite,
 * because Salesforce changed them since the last sync and wins them (a seller's edit whose
 * outbound sync has not happened yet). Without this, a webhook racing the seller's event would
 * silently replace the seller's value with the one Partner Center is about to lose.
 */
export function salesforceHeldFields(input: ConflictInput): {
  fields: string[];
  decisions: ConflictDecision[];
} {
  const decisions = resolveConflict(input).decisions.filter((d) => d.winner === 'salesforce');
  const fields = decisions.flatMap((d) =>
    input.mapping.fields.filter((e) => e.name === d.field).map((e) => e.opportunity),
  );
  return { fields, decisions };
}

/**
 * The outbound side: the referral paths a seller's change must not overwrite, because Partner
 * Center changed them too since the last sync and owns them (a partner's edit whose inbound sync has
 * not happened yet, or an inbound write whose agreement a crash never saved). The inbound sync
 * brings Partner Center's value over; sending Salesforce's would silently lose the partner's.
 */
export function partnerCenterHeldPaths(input: ConflictInput): {
  paths: string[];
  decisions: ConflictDecision[];
} {
  const decisions = resolveConflict(input).decisions.filter(
    (d) => d.winner === 'partnerCenter' && d.bothChanged,
  );
  const paths = decisions.flatMap((d) =>
    input.mapping.fields
      .filter((e) => e.name === d.field)
      .flatMap((e) => (e.transform === 'stage' ? ['status', 'substatus'] : [e.referral])),
  );
  return { paths, decisions };
}
