/**
 * Comparable forms of mapped values, keyed by mapping entry name. Both sides reduce to the same
 * Salesforce-shaped value (a stage reduces to its category), so "did this field change since the
 * last sync?" is one equality check on either side; the job stores the canonical values it last
 * synced and their fingerprint.
 */
import { createHash } from 'node:crypto';
import type { FieldMapping, Mapping } from './mapping.ts';
import type { Referral } from './referralSchema.ts';
import { readPath, REFERRAL_PATHS } from './referralSchema.ts';
import { inboundValueFor } from './inbound.ts';
import { categoryOfDeal, categoryOfStatus } from './stage.ts';
import {
  blankToNull,
  getTransform,
  splitSolutionIds,
  solutionIdsOf,
  utcDay,
  utcInstant,
} from './transforms.ts';

export type CanonicalValues = Record<string, unknown>;

function canonicalNumber(value: unknown): unknown {
  const blank = blankToNull(value);
  if (blank === null) return null;
  const number = Number(blank);
  return Number.isFinite(number) ? number : blank;
}

function canonicalIds(ids: string[]): string | null {
  return ids.length === 0
    ? null
    : ids
        .map((id) => id.toUpperCase())
        .sort()
        .join(';');
}

/**
 * The canonical form of a Salesforce-side value of `entry`. `record` is the Opportunity the value
 * belongs to (the stage needs the CRM's won and closed flags).
 */
export function canonicalSalesforceValue(
  entry: FieldMapping,
  value: unknown,
  record: Readonly<Record<string, unknown>>,
  mapping: Mapping,
): unknown {
  switch (entry.transform) {
    case 'number':
      return canonicalNumber(value);
    case 'date':
      return utcDay(value) ?? blankToNull(value);
    case 'datetime':
      return utcInstant(value) ?? blankToNull(value);
    case 'boolean':
      return value === true || value === 'true';
    case 'solutions':
      return canonicalIds(splitSolutionIds(value));
    case 'stage':
      return categoryOfDeal({ ...record, [mapping.stageFields.stage]: value }, mapping);
    default: {
      const blank = blankToNull(value);
      return blank === REFERRAL_PATHS.get(entry.referral)?.unsetValue ? null : blank;
    }
  }
}

/**
 * The canonical form of the value at `entry.referral` in a referral, as the relay writes it to
 * Salesforce (fitted to the field, defaulted when blank): a name the field truncates, or a close
 * date the mapping defaults, then compares equal to what the Opportunity holds, so neither reads
 * as a change on one side.
 */
export function canonicalReferralValue(entry: FieldMapping, referral: Referral, mapping: Mapping): unknown {
  const value = readPath(referral, entry.referral);
  switch (entry.transform) {
    case 'stage':
      return categoryOfStatus(referral);
    case 'solutions':
      return canonicalIds(solutionIdsOf(value));
    default: {
      const written =
        entry.direction === 'outbound'
          ? getTransform(entry.transform).toSalesforce(value, { mapping, entry, referral })
          : inboundValueFor(entry, referral, mapping).value;
      return canonicalSalesforceValue(entry, written, {}, mapping);
    }
  }
}

/** Entries both sides can express (ids, links and the customer exist only on the referral side). */
function comparableEntries(mapping: Mapping): FieldMapping[] {
  return mapping.fields.filter((entry) => !getTransform(entry.transform).inboundOnly);
}

export function canonicalFromOpportunity(
  opportunity: Readonly<Record<string, unknown>>,
  mapping: Mapping,
): CanonicalValues {
  const values: CanonicalValues = {};
  for (const entry of comparableEntries(mapping)) {
    values[entry.name] = canonicalSalesforceValue(
      entry,
      opportunity[entry.opportunity],
      opportunity,
      mapping,
    );
  }
  return values;
}

export function canonicalFromReferral(referral: Referral, mapping: Mapping): CanonicalValues {
  const values: CanonicalValues = {};
  for (const entry of comparableEntries(mapping))
    values[entry.name] = canonicalReferralValue(entry, referral, mapping);
  return values;
}

/** JSON with object keys sorted at every depth, so equal values serialize equally. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, child]) => child !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, child]) => `${JSON.stringify(key)}:${stableStringify(child)}`).join(',')}}`;
}

/** A stable SHA-256 of any JSON-like value, independent of object key order. */
export function fingerprint(values: unknown): string {
  return createHash('sha256').update(stableStringify(values)).digest('hex');
}

export function sameValue(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

/**
 * What both sides agree on after a sync that left Salesforce and Partner Center holding these
 * canonical values: a field they hold alike takes that value. A field they still differ on (Partner
 * Center moved on and its inbound sync has not run yet, or a seller's edit the inbound sync kept)
 * keeps the value last agreed, or Salesforce's when none was, so the side that changed it is still
 * seen as having changed it. `allAgree` is false when any field differs.
 */
export function agreedValues(
  salesforce: CanonicalValues,
  partnerCenter: CanonicalValues,
  previous: Readonly<Record<string, unknown>> | null | undefined,
): { values: CanonicalValues; allAgree: boolean } {
  const values: CanonicalValues = {};
  let allAgree = true;
  for (const name of Object.keys(partnerCenter)) {
    if (sameValue(salesforce[name], partnerCenter[name])) {
      values[name] = partnerCenter[name];
      continue;
    }
    allAgree = false;
    values[name] = previous && Object.hasOwn(previous, name) ? previous[name] : salesforce[name];
  }
  return { values, allAgree };
}

/**
 * The values both sides last agreed on, counting an unfinished relay write the Opportunity shows it
 * received: each pending value (store/links.ts pendingValues) the record holds exactly is the
 * relay's own write, agreed, not a seller's edit. Values the record does not hold stay as they were.
 */
export function agreedSoFar(
  lastSynced: CanonicalValues | null | undefined,
  pending: CanonicalValues | null | undefined,
  salesforce: CanonicalValues,
): CanonicalValues | null {
  const base = lastSynced ?? null;
  if (!pending) return base;
  const landed = Object.keys(pending).filter(
    (name) => Object.hasOwn(salesforce, name) && sameValue(salesforce[name], pending[name]),
  );
  if (landed.length === 0) return base;
  const values: CanonicalValues = { ...(base ?? {}) };
  for (const name of landed) values[name] = pending[name];
  return values;
}
