/**
 * Both sides, record by record, against what the workload wrote. For each field the side that
 * owns it (see workload.ts) must still hold its last write — if not, the relay overwrote a newer
 * value with an older one: a lost change — and the other side must hold it too, else the field is
 * stale. Duplicates: more than one Opportunity for a referral, or more than one referral of a kind
 * (the partner's, the one for Microsoft) for an Opportunity.
 */
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import type { Referral } from '../../relay/sandbox/partner-center/index.ts';
import type { Pair } from './workload.ts';

export interface Finding {
  pair: number;
  kind: 'missing' | 'duplicate' | 'lost' | 'stale';
  detail: string;
}

export interface Comparison {
  opportunitiesExpected: number;
  opportunitiesPresent: number;
  referralsExpected: number;
  referralsPresent: number;
  findings: Finding[];
  count(kind: Finding['kind']): number;
}

const id15 = (id: unknown) => (typeof id === 'string' ? id.slice(0, 15) : '');
const forMicrosoft = (r: Referral) =>
  ((r.target as Array<{ type?: string; id?: string }> | undefined) ?? []).some(
    (t) => t.type === 'BusinessProfileLocation' && t.id === 'msft',
  );

export function compareSides(sandboxes: Sandboxes, pairs: readonly Pair[]): Comparison {
  const findings: Finding[] = [];
  const opportunities = sandboxes.salesforce.store.all('Opportunity');
  const referrals = sandboxes.partnerCenter.referrals.list();
  const opportunitiesByReferral = new Map<string, Array<Record<string, unknown>>>();
  for (const o of opportunities) {
    const ref = o.Referral_Identifier__c;
    if (typeof ref !== 'string' || ref === '') continue;
    opportunitiesByReferral.set(ref, [...(opportunitiesByReferral.get(ref) ?? []), o]);
  }
  const referralsByOpportunity = new Map<string, Referral[]>();
  for (const r of referrals) {
    const key = id15(r.externalReferenceId);
    if (key) referralsByOpportunity.set(key, [...(referralsByOpportunity.get(key) ?? []), r]);
  }

  let referralsExpected = 0;
  for (const pair of pairs) {
    referralsExpected += pair.coSell ? 2 : 1;
    const add = (kind: Finding['kind'], detail: string) => findings.push({ pair: pair.index, kind, detail });
    let referral: Referral | undefined;
    let opportunity: Record<string, unknown> | undefined;
    if (pair.origin === 'partner-center') {
      referral = sandboxes.partnerCenter.referrals.get(pair.referralId!);
      const found = opportunitiesByReferral.get(pair.referralId!) ?? [];
      if (found.length > 1) add('duplicate', `${found.length} Opportunities for referral ${pair.referralId}`);
      opportunity = found[0];
      const outgoing = found.flatMap((o) => referralsByOpportunity.get(id15(o.Id)) ?? []);
      if (outgoing.length > 0)
        add('duplicate', `${outgoing.length} referrals created for the Opportunity of a shared referral`);
    } else {
      opportunity = sandboxes.salesforce.store.get('Opportunity', pair.opportunityId!);
      const made = referralsByOpportunity.get(id15(pair.opportunityId)) ?? [];
      const mine = made.filter((r) => !forMicrosoft(r));
      const microsoft = made.filter(forMicrosoft);
      if (mine.length > 1) add('duplicate', `${mine.length} referrals for Opportunity ${pair.opportunityId}`);
      if (microsoft.length > 1)
        add('duplicate', `${microsoft.length} referrals for Microsoft for Opportunity ${pair.opportunityId}`);
      if (pair.coSell && microsoft.length === 0)
        add('missing', `no referral for Microsoft for Opportunity ${pair.opportunityId}`);
      if (!pair.coSell && microsoft.length > 0)
        add('duplicate', `a referral for Microsoft nobody asked for (${pair.opportunityId})`);
      referral = mine[0];
      const linked = opportunity?.Referral_Identifier__c;
      if (referral && linked !== referral.id)
        add('stale', `Opportunity names referral ${String(linked)}, Partner Center holds ${referral.id}`);
      const pairedTwice = referral ? (opportunitiesByReferral.get(referral.id) ?? []) : [];
      if (pairedTwice.length > 1) add('duplicate', `${pairedTwice.length} Opportunities for ${referral?.id}`);
    }
    if (!referral || !opportunity) {
      add('missing', `${referral ? '' : 'referral '}${opportunity ? '' : 'Opportunity '}absent`);
      continue;
    }
    const details = (referral.details ?? {}) as { dealValue?: unknown; notes?: unknown };
    const fields: Array<{ field: string; owner: 'sf' | 'pc'; want: unknown; sf: unknown; pc: unknown }> = [
      { field: 'name', owner: 'sf', want: pair.name, sf: opportunity.Name, pc: referral.name },
      {
        field: 'amount',
        owner: 'sf',
        want: pair.amount,
        sf: Number(opportunity.Amount),
        pc: Number(details.dealValue),
      },
      { field: 'notes', owner: 'pc', want: pair.notes, sf: opportunity.Description, pc: details.notes },
    ];
    // A Partner Center-shared pair's name, Amount and notes start in Partner Center; a seller's in
    // Salesforce. After that each field belongs to the side named above.
    for (const f of fields) {
      const own = f.owner === 'sf' ? f.sf : f.pc;
      const other = f.owner === 'sf' ? f.pc : f.sf;
      if (own !== f.want)
        add(
          'lost',
          `${f.field}: ${f.owner === 'sf' ? 'Salesforce' : 'Partner Center'} holds ${JSON.stringify(own)}, last written ${JSON.stringify(f.want)}`,
        );
      else if (other !== f.want)
        add(
          'stale',
          `${f.field}: ${f.owner === 'sf' ? 'Partner Center' : 'Salesforce'} holds ${JSON.stringify(other)}, want ${JSON.stringify(f.want)}`,
        );
    }
  }
  return {
    opportunitiesExpected: pairs.length,
    opportunitiesPresent: opportunities.length,
    referralsExpected,
    referralsPresent: referrals.length,
    findings,
    count: (kind) => findings.filter((f) => f.kind === kind).length,
  };
}
