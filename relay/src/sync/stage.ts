/**
 * Referral status ↔ Opportunity stage, and the status transitions Partner Center allows.
 * Sources: contracts/partner-center.md §1.5 (transition table, terminal states) and §4.5 (stage
 * mapping; inferred by the research, adopted by the mapping's `stages` block).
 */
import type { JsonPatchOp } from './jsonPatch.ts';
import type { StageFields, StageNames } from './mappingTypes.ts';

export type StageCategory = keyof StageNames;

export interface StatusPair {
  status: string;
  substatus: string;
}

/** §1.5: which statuses a status may move to, and which substatuses each status allows. */
const NEXT_STATUSES: Readonly<Record<string, readonly string[]>> = {
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: ['Closed'],
};
const SUBSTATUSES: Readonly<Record<string, readonly string[]>> = {
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired'],
};
const TERMINAL_SUBSTATUSES: ReadonlySet<string> = new Set(['Won', 'Lost', 'Declined', 'Expired']);

/** "Deals can't be modified after they move into a terminal state" (§1.5). */
export function isTerminal(referral: { status?: unknown; substatus?: unknown }): boolean {
  return referral.status === 'Closed' || TERMINAL_SUBSTATUSES.has(String(referral.substatus));
}

/** Where a referral status sits among the mapping's four stages; null for `None` or unknown values. */
export function categoryOfStatus(pair: { status?: unknown; substatus?: unknown }): StageCategory | null {
  switch (pair.status) {
    case 'New':
      return 'onHold';
    case 'Active':
      return 'active';
    case 'Closed':
      return pair.substatus === 'Won' ? 'won' : 'lost';
    default:
      return null;
  }
}

/** The stage a referral status maps to, or null when the status says nothing (`None`). */
export function stageForStatus(
  pair: { status?: unknown; substatus?: unknown },
  stages: StageNames,
): string | null {
  const category = categoryOfStatus(pair);
  return category === null ? null : stages[category];
}

/**
 * Where a deal stands. The CRM's won and closed flags decide first, because an org may have several
 * won or lost stages besides the two the mapping names; every other open stage but on-hold counts
 * as active.
 */
export function categoryOfDeal(
  deal: Readonly<Record<string, unknown>>,
  mapping: { readonly stages: StageNames; readonly stageFields: StageFields },
): StageCategory {
  const { stages, stageFields } = mapping;
  const stage = deal[stageFields.stage];
  if ((stageFields.won !== undefined && deal[stageFields.won] === true) || stage === stages.won) return 'won';
  if ((stageFields.closed !== undefined && deal[stageFields.closed] === true) || stage === stages.lost)
    return 'lost';
  if (stage === stages.onHold) return 'onHold';
  return 'active';
}

/**
 * The status a deal asks of its referral (§4.5 reverse direction), or null for "no status change":
 * an on-hold deal cannot push a referral back to New.
 */
export function statusForDeal(
  deal: Readonly<Record<string, unknown>>,
  mapping: { readonly stages: StageNames; readonly stageFields: StageFields },
): StatusPair | null {
  switch (categoryOfDeal(deal, mapping)) {
    case 'won':
      return { status: 'Closed', substatus: 'Won' };
    case 'lost':
      return { status: 'Closed', substatus: 'Lost' };
    case 'active':
      return { status: 'Active', substatus: 'Accepted' };
    case 'onHold':
      return null;
  }
}

export type StatusPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'change'; readonly ops: JsonPatchOp[] }
  | { readonly kind: 'refused'; readonly reason: string };

/**
 * The PATCH ops that move a referral from `current` to `desired`, or why that move is not allowed.
 * A desired status equal to the current one (or null) needs nothing. An active referral that the
 * Opportunity wants "active" again keeps its substatus.
 */
export function planStatusChange(
  current: { status?: unknown; substatus?: unknown },
  desired: StatusPair | null,
): StatusPlan {
  if (desired === null) return { kind: 'none' };
  if (current.status === desired.status && current.substatus === desired.substatus) return { kind: 'none' };
  const from = `${String(current.status)}/${String(current.substatus)}`;
  const to = `${desired.status}/${desired.substatus}`;
  if (isTerminal(current)) {
    return { kind: 'refused', reason: `referral is ${from}, a terminal state; it cannot move to ${to}` };
  }
  const allowed = NEXT_STATUSES[String(current.status)];
  if (allowed === undefined) {
    return { kind: 'refused', reason: `referral status ${from} is not one Partner Center allows to change` };
  }
  if (!allowed.includes(desired.status)) {
    return {
      kind: 'refused',
      reason: `Partner Center does not allow ${from} → ${to} (a referral never goes back)`,
    };
  }
  if (!(SUBSTATUSES[desired.status] ?? []).includes(desired.substatus)) {
    return {
      kind: 'refused',
      reason: `substatus ${desired.substatus} is not allowed with status ${desired.status}`,
    };
  }
  return {
    kind: 'change',
    ops: [
      { op: 'replace', path: '/status', value: desired.status },
      { op: 'replace', path: '/substatus', value: desired.substatus },
    ],
  };
}
