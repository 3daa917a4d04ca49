/**
 * What to write: the JSON Patch that brings a referral to the desired values, and the Opportunity
 * fields that differ from the desired ones. Both compare normalized values, so equal data in
 * different spellings ("10000" vs 10000, midnight vs 18:30 on the same day, reordered solution
 * ids) never causes a write, and so never an echo.
 */
import { canonicalSalesforceValue, sameValue } from './canonical.ts';
import type { JsonPatchOp } from './jsonPatch.ts';
import { toPointer } from './jsonPatch.ts';
import type { FieldMapping, Mapping } from './mapping.ts';
import type { ReferralValues } from './outbound.ts';
import type { Referral, ReferralPathInfo, SolutionTag } from './referralSchema.ts';
import { readPath, REFERRAL_PATHS } from './referralSchema.ts';
import type { StatusPlan } from './stage.ts';
import { isTerminal, planStatusChange } from './stage.ts';
import { blankToNull, solutionIdsOf, utcDay } from './transforms.ts';

export interface ReferralPatchPlan {
  ops: JsonPatchOp[];
  /** Changes that were wanted but may not be sent, in words for the audit trail. */
  blocked: string[];
}

function normalizeReferralValue(info: ReferralPathInfo | undefined, value: unknown): unknown {
  const blank = blankToNull(value);
  switch (info?.kind) {
    case 'number':
      return blank === null ? null : Number(blank);
    case 'date':
      return utcDay(blank) ?? blank;
    case 'datetime': {
      const time = blank === null ? NaN : new Date(String(blank)).getTime();
      return Number.isNaN(time) ? blank : time;
    }
    case 'boolean':
      return blank === true;
    case 'enum':
      return blank === info.unsetValue ? null : blank;
    case 'solutions':
      return solutionIdsOf(blank)
        .map((id) => id.toUpperCase())
        .sort();
    default:
      return blank;
  }
}

/** Solution items the referral already has keep their details (name, publisher); new ids are added as given. */
function mergeSolutions(desired: unknown, current: unknown): unknown {
  if (!Array.isArray(desired)) return desired;
  const existing = new Map(
    (Array.isArray(current) ? (current as SolutionTag[]) : [])
      .filter((item): item is SolutionTag & { id: string } => typeof item?.id === 'string')
      .map((item) => [item.id.trim().toUpperCase(), item]),
  );
  return (desired as SolutionTag[]).map((item) => existing.get((item.id ?? '').toUpperCase()) ?? item);
}

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Turns changed paths into ops. `replace` needs the target to exist (RFC 6902 §4.3), so a missing
 * key is `add`ed, and a missing (or null) parent is written whole, holding every change under it.
 */
function toOps(changes: ReadonlyArray<{ path: string; value: unknown }>, current: Referral): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const containers = new Map<string, JsonPatchOp>();
  for (const { path, value } of changes) {
    const keys = path.split('.');
    let node: unknown = current;
    for (let depth = 0; depth < keys.length; depth += 1) {
      const parent = node as Record<string, unknown>;
      const key = keys[depth];
      const isLeaf = depth === keys.length - 1;
      const exists = Object.hasOwn(parent, key);
      if (isLeaf) {
        ops.push({ op: exists ? 'replace' : 'add', path: toPointer(path), value });
        break;
      }
      if (!exists || !isObject(parent[key])) {
        const containerPath = keys.slice(0, depth + 1).join('.');
        let op = containers.get(containerPath);
        if (op === undefined) {
          op = { op: exists ? 'replace' : 'add', path: toPointer(containerPath), value: {} };
          containers.set(containerPath, op);
          ops.push(op);
        }
        let target = op.value as Record<string, unknown>;
        for (const inner of keys.slice(depth + 1, -1)) {
          if (!isObject(target[inner])) target[inner] = {};
          target = target[inner] as Record<string, unknown>;
        }
        target[keys[keys.length - 1]] = value;
        break;
      }
      node = parent[key];
    }
  }
  return ops;
}

/**
 * The PATCH that brings `current` to `desired` (values by dotted path), and the wanted changes
 * that may not be sent:
 * - a terminal referral (§1.5) gets no ops at all;
 * - status/substatus go through the transition table; a refused move is reported, not sent;
 * - while a referral is New (on hold, not yet accepted), Salesforce edits wait for the stage to
 *   leave on-hold, as the connectors document (§4.5);
 * - Referral Visibility, once given, cannot be withdrawn (§4.3).
 * An opening status move goes first and a closing one last, so a server that applies ops in order
 * never sees a field edit on a referral that is on hold or already closed.
 */
export function planReferralPatch(desired: ReferralValues, current: Referral): ReferralPatchPlan {
  const blocked: string[] = [];
  const changes: Array<{ path: string; value: unknown }> = [];
  for (const [path, wanted] of Object.entries(desired)) {
    if (path === 'status' || path === 'substatus') continue;
    const info = REFERRAL_PATHS.get(path);
    const existing = readPath(current, path);
    if (sameValue(normalizeReferralValue(info, wanted), normalizeReferralValue(info, existing))) continue;
    if (info?.oneWay === true && existing === true && wanted !== true) {
      blocked.push(`${path} cannot be withdrawn once given; Partner Center keeps true`);
      continue;
    }
    changes.push({ path, value: info?.kind === 'solutions' ? mergeSolutions(wanted, existing) : wanted });
  }

  const wantsStatus = typeof desired.status === 'string';
  const statusPlan: StatusPlan = wantsStatus
    ? planStatusChange(current, { status: String(desired.status), substatus: String(desired.substatus) })
    : { kind: 'none' };
  const where = `${String(current.status)}/${String(current.substatus)}`;

  if (isTerminal(current)) {
    if (changes.length > 0 || statusPlan.kind !== 'none') {
      const what = [
        ...changes.map((change) => change.path),
        ...(statusPlan.kind === 'none' ? [] : ['status']),
      ];
      blocked.push(`referral is ${where}, a terminal state; not sent: ${what.join(', ')}`);
    }
    return { ops: [], blocked };
  }
  if (statusPlan.kind === 'refused') blocked.push(statusPlan.reason);
  const statusOps = statusPlan.kind === 'change' ? statusPlan.ops : [];

  // On hold desires no status at all (statusForOpportunity gives null), so any non-move holds.
  if (current.status === 'New' && statusOps.length === 0) {
    if (changes.length > 0) {
      blocked.push(
        `referral is ${where} (not accepted yet); held until the Opportunity leaves the on-hold stage: ` +
          changes.map((change) => change.path).join(', '),
      );
    }
    return { ops: [], blocked };
  }

  const fieldOps = toOps(changes, current);
  const closing = desired.status === 'Closed';
  return { ops: closing ? [...fieldOps, ...statusOps] : [...statusOps, ...fieldOps], blocked };
}

/** The JSON Patch ops alone; see planReferralPatch for what is held back and why. */
export function diffReferral(desired: ReferralValues, current: Referral): JsonPatchOp[] {
  return planReferralPatch(desired, current).ops;
}

function looksLikeDay(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value);
}

/** Equality for Opportunity values of unmapped fields: blank is blank, numbers by value, dates by day. */
function sameSalesforceValue(a: unknown, b: unknown): boolean {
  const left = blankToNull(a);
  const right = blankToNull(b);
  if (left === null || right === null) return left === right;
  if (typeof left === 'number' || typeof right === 'number') return Number(left) === Number(right);
  if (looksLikeDay(left) && looksLikeDay(right) && (left.length === 10 || right.length === 10)) {
    return left.slice(0, 10) === right.slice(0, 10);
  }
  return sameValue(left, right);
}

/**
 * The fields of `desired` whose values differ from `current` (the deal as read, with the CRM's won
 * and closed flags). With the mapping, mapped fields compare the way their transform means them: a
 * stage by its category, so a seller's own open stage (say Negotiation) is not reset to the
 * mapping's active stage; solution ids as a set.
 */
export function diffOpportunity(
  desired: Readonly<Record<string, unknown>>,
  current: Readonly<Record<string, unknown>>,
  mapping?: Mapping,
): Record<string, unknown> {
  const byField = new Map<string, FieldMapping>();
  for (const entry of mapping?.fields ?? []) {
    if (entry.direction !== 'outbound' && entry.transform !== 'account')
      byField.set(entry.opportunity, entry);
  }
  const changed: Record<string, unknown> = {};
  for (const [field, wanted] of Object.entries(desired)) {
    const entry = byField.get(field);
    const same =
      entry !== undefined && mapping !== undefined
        ? sameValue(
            canonicalSalesforceValue(entry, wanted, { [mapping.stageFields.stage]: wanted }, mapping),
            canonicalSalesforceValue(entry, current[field], current, mapping),
          )
        : sameSalesforceValue(wanted, current[field]);
    if (!same) changed[field] = wanted;
  }
  return changed;
}
