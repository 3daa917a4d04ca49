import { randomUUID } from 'node:crypto';
import { parseTicks } from './odataQuery.ts';
import type { DatedRecord, OrderBy, Predicate } from './odataQuery.ts';

/**
 * In-memory referrals with the rules of contract §1.4–1.6: required fields on create, JSON Patch
 * limited to `replace`/`add`, If-Match concurrency on a quoted eTag, the status/substatus
 * transition table, and terminal states that refuse every change. Partner writes (the API) and
 * Microsoft/customer writes (the in-process admin API) share the same validation so the relay
 * cannot observe a referral the real service would not produce — and accepts every shape the
 * real service returns: nulls and empty strings where real responses have them, unknown fields
 * (kept and returned as given), and `team` as an object or an array.
 */

export interface Referral {
  id: string;
  engagementId: string;
  eTag: string;
  status: string;
  substatus: string;
  createdDateTime: string;
  updatedDateTime: string;
  direction: 'Incoming' | 'Outgoing';
  [key: string]: unknown;
}

/** A refusal the HTTP layer turns into an error response; `field` is the JSON path at fault. */
export class ReferralError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ReferralError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export interface ReferralChange {
  action: 'created' | 'updated';
  referral: Referral;
  /** Other referrals of the same engagement (the other side of a shared deal). */
  relatedIds: string[];
}

export interface ReferralStoreOptions {
  /** The sandbox base URL, read lazily because the port is known only after listen(). */
  baseUrl: () => string;
  now: () => Date;
  organizationId: string;
  organizationName: string;
  onChange: (change: ReferralChange) => void;
}

const STATUSES = ['None', 'New', 'Active', 'Closed'];
const SUBSTATUSES = ['None', 'Pending', 'Received', 'Accepted', 'Won', 'Lost', 'Declined', 'Expired'];
const TERMINAL_SUBSTATUSES = new Set(['Won', 'Lost', 'Declined', 'Expired']);
const TYPES = ['Independent', 'Shared'];
const QUALIFICATIONS = ['None', 'Direct', 'MarketingQualified', 'SalesQualified'];
const TARGET_TYPES = ['None', 'BusinessProfileLocation', 'SolutionProfile'];

/** Contract §1.5: allowed next statuses and the substatuses each status admits. */
const NEXT_STATUSES: Record<string, string[]> = {
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: ['Closed'],
};
const SUBSTATUSES_OF: Record<string, string[]> = {
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired'],
};

/** Set by the service, never by a client. */
const READ_ONLY = new Set([
  'id',
  'engagementId',
  'eTag',
  'createdDateTime',
  'updatedDateTime',
  'acceptedDateTime',
  'closedDateTime',
  'links',
  'direction',
  'organizationId',
  'organizationName',
]);

const ISO_COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ ' +
    'BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM ' +
    'DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS ' +
    'GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN ' +
    'KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ ' +
    'MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM ' +
    'PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV ' +
    'SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI ' +
    'VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const invalid = (field: string, message: string): ReferralError =>
  new ReferralError(400, 'InvalidInput', `${field}: ${message}`, field);

function requireObject(parent: Json, key: string, path: string): Json {
  const value = parent[key];
  if (value === undefined || value === null) throw invalid(path, 'is required');
  if (!isObject(value)) throw invalid(path, 'must be an object');
  return value;
}

function optionalEnum(parent: Json, key: string, path: string, allowed: string[]): void {
  const value = parent[key];
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !allowed.includes(value))
    throw invalid(path, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
}

function optionalString(parent: Json, key: string, path: string): void {
  const value = parent[key];
  if (value !== undefined && value !== null && typeof value !== 'string')
    throw invalid(path, 'must be a string');
}

/**
 * Member[] as documented, or a single Member object: a public capture of real responses shows
 * `customerProfile.team` both ways (UNCONFIRMED whether the API or the capturing script did that),
 * so the sandbox accepts and stores either shape as given and returns it unchanged.
 */
function validateMembers(value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  if (isObject(value)) {
    for (const key of ['firstName', 'lastName', 'email', 'phoneNumber', 'title'])
      optionalString(value, key, `${path}.${key}`);
    return;
  }
  if (!Array.isArray(value)) throw invalid(path, 'must be an array of members or a member object');
  value.forEach((member, index) => {
    if (!isObject(member)) throw invalid(`${path}[${index}]`, 'must be an object');
    for (const key of ['firstName', 'lastName', 'email', 'phoneNumber', 'title'])
      optionalString(member, key, `${path}[${index}].${key}`);
  });
}

/** Validates a whole referral (after a create or a patch); coerces a numeric-string dealValue as the service does. */
function validateReferral(referral: Json): void {
  if (referral.type === undefined || referral.type === null) throw invalid('type', 'is required');
  optionalEnum(referral, 'type', 'type', TYPES);
  optionalString(referral, 'name', 'name');
  optionalString(referral, 'externalReferenceId', 'externalReferenceId');
  optionalString(referral, 'statusReason', 'statusReason');
  optionalEnum(referral, 'qualification', 'qualification', QUALIFICATIONS);
  optionalEnum(referral, 'status', 'status', STATUSES);
  optionalEnum(referral, 'substatus', 'substatus', SUBSTATUSES);

  const customer = requireObject(referral, 'customerProfile', 'customerProfile');
  if (typeof customer.name !== 'string' || customer.name.trim() === '')
    throw invalid('customerProfile.name', 'is required');
  const address = requireObject(customer, 'address', 'customerProfile.address');
  if (address.country === undefined || address.country === null || address.country === '')
    throw invalid('customerProfile.address.country', 'is required');
  if (typeof address.country !== 'string' || !ISO_COUNTRIES.has(address.country)) {
    throw invalid(
      'customerProfile.address.country',
      `must be an ISO 3166 alpha-2 country code; got ${JSON.stringify(address.country)}`,
    );
  }
  validateMembers(customer.team, 'customerProfile.team');

  requireObject(referral, 'consent', 'consent');

  const details = requireObject(referral, 'details', 'details');
  if (
    typeof details.dealValue === 'string' &&
    details.dealValue.trim() !== '' &&
    Number.isFinite(Number(details.dealValue))
  ) {
    details.dealValue = Number(details.dealValue);
  }
  if (
    details.dealValue !== undefined &&
    details.dealValue !== null &&
    (typeof details.dealValue !== 'number' || !Number.isFinite(details.dealValue) || details.dealValue < 0)
  ) {
    throw invalid('details.dealValue', 'must be a non-negative number');
  }
  if (
    details.currency !== undefined &&
    details.currency !== null &&
    (typeof details.currency !== 'string' || !/^[A-Z]{3}$/.test(details.currency))
  ) {
    throw invalid('details.currency', 'must be an ISO 4217 currency code');
  }
  if (
    details.closingDateTime !== undefined &&
    details.closingDateTime !== null &&
    (typeof details.closingDateTime !== 'string' || parseTicks(details.closingDateTime) === undefined)
  ) {
    throw invalid('details.closingDateTime', 'must be an ISO 8601 UTC date-time');
  }
  optionalString(details, 'notes', 'details.notes');

  validateMembers(referral.team, 'team');
  if (referral.target !== undefined && referral.target !== null) {
    if (!Array.isArray(referral.target)) throw invalid('target', 'must be an array');
    referral.target.forEach((target, index) => {
      if (!isObject(target)) throw invalid(`target[${index}]`, 'must be an object');
      optionalEnum(target, 'type', `target[${index}].type`, TARGET_TYPES);
      if (typeof target.id !== 'string' || target.id === '')
        throw invalid(`target[${index}].id`, 'is required');
    });
  }
}

function checkStatus(status: string, substatus: string, previousStatus?: string): void {
  if (
    previousStatus !== undefined &&
    previousStatus !== 'None' &&
    !(NEXT_STATUSES[previousStatus] ?? []).includes(status)
  ) {
    throw new ReferralError(
      400,
      'InvalidStatusTransition',
      `status: cannot move from '${previousStatus}' to '${status}'`,
      'status',
    );
  }
  const allowed = SUBSTATUSES_OF[status];
  if (allowed && !allowed.includes(substatus)) {
    throw new ReferralError(
      400,
      'InvalidStatusTransition',
      `substatus: '${substatus}' is not allowed with status '${status}' (allowed: ${allowed.join(', ')})`,
      'substatus',
    );
  }
}

export type JsonPatchOperation = { op: string; path: string; value?: unknown };

function parsePointer(path: string, where: string): string[] {
  if (!path.startsWith('/'))
    throw invalid(`${where}.path`, `must be a JSON Pointer starting with '/'; got ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 `add` and `replace` on a working copy; every other operation is refused (contract §1.2). */
function applyPatch(target: Json, operations: unknown): void {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ReferralError(
      400,
      'InvalidInput',
      'body: must be a non-empty JSON Patch array of operations',
      'body',
    );
  }
  operations.forEach((operation, index) => {
    const where = `[${index}]`;
    if (!isObject(operation)) throw invalid(where, 'must be a JSON Patch operation object');
    const { op, path } = operation;
    if (op !== 'replace' && op !== 'add') {
      throw new ReferralError(
        400,
        'UnsupportedPatchOperation',
        `${where}.op: '${String(op)}' is not supported; only 'replace' and 'add' are`,
        `${where}.op`,
      );
    }
    if (typeof path !== 'string') throw invalid(`${where}.path`, 'is required');
    if (!('value' in operation)) throw invalid(`${where}.value`, 'is required');
    const tokens = parsePointer(path, where);
    if (READ_ONLY.has(tokens[0]))
      throw new ReferralError(
        400,
        'ReadOnlyProperty',
        `${where}.path: '${path}' is read-only`,
        `${where}.path`,
      );
    let parent: unknown = target;
    for (const token of tokens.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
      if (parent === undefined || parent === null) throw invalid(`${where}.path`, `'${path}' does not exist`);
    }
    const last = tokens[tokens.length - 1];
    const value = structuredClone(operation.value);
    if (Array.isArray(parent)) {
      const position = last === '-' ? parent.length : Number(last);
      const limit = op === 'add' ? parent.length : parent.length - 1;
      if (!/^\d+$/.test(last) && last !== '-')
        throw invalid(`${where}.path`, `'${last}' is not an array index`);
      if (position > limit || (op === 'replace' && last === '-'))
        throw invalid(`${where}.path`, `'${path}' is out of range`);
      if (op === 'add') parent.splice(position, 0, value);
      else parent[position] = value;
    } else if (isObject(parent)) {
      if (op === 'replace' && !(last in parent))
        throw invalid(`${where}.path`, `'${path}' does not exist; use 'add'`);
      parent[last] = value;
    } else {
      throw invalid(`${where}.path`, `'${path}' does not point into an object or array`);
    }
  });
}

function deepMerge(target: Json, changes: Json): void {
  for (const [key, value] of Object.entries(changes)) {
    if (isObject(value) && isObject(target[key])) deepMerge(target[key] as Json, value);
    else target[key] = structuredClone(value);
  }
}

interface Entry {
  referral: Referral;
  createdTicks: bigint;
  updatedTicks: bigint;
}

export interface ReferralStore {
  createAsPartner(body: unknown): Referral;
  createAsMicrosoft(body: unknown): Referral;
  get(id: string): Referral | undefined;
  /** Filtered and ordered; ties break on id so paging is stable. */
  query(predicate: Predicate | undefined, orderBy: OrderBy): Referral[];
  patch(id: string, operations: unknown, ifMatch?: string): Referral;
  /** Microsoft/the customer changes a referral: a merge object or a JSON Patch array; `force` skips the status rules. */
  updateAsMicrosoft(id: string, changes: unknown, options?: { force?: boolean }): Referral;
  size(): number;
  clear(): void;
}

export function createReferralStore(options: ReferralStoreOptions): ReferralStore {
  const entries = new Map<string, Entry>();
  let lastTicks = 0n;

  // Strictly increasing 100-ns ticks: two writes in the same millisecond still get distinct,
  // ordered updatedDateTime values, which watermark-based reconciliation depends on.
  const nextTicks = (): bigint => {
    const now = BigInt(options.now().getTime()) * 10_000n;
    lastTicks = now > lastTicks ? now : lastTicks + 1n;
    return lastTicks;
  };
  const formatTicks = (ticks: bigint): string => {
    const iso = new Date(Number(ticks / 10_000n)).toISOString();
    return `${iso.slice(0, 19)}.${(ticks % 10_000_000n).toString().padStart(7, '0')}Z`;
  };
  const newETag = (): string => `"${randomUUID()}"`;
  const links = (referral: Referral): Json => {
    const base = `${options.baseUrl()}/v1.0/engagements/referrals`;
    return {
      relatedReferrals: { uri: `${base}?$filter=engagementId eq '${referral.engagementId}'`, method: 'GET' },
      self: { uri: `${base}/${referral.id}`, method: 'GET' },
    };
  };
  const relatedIds = (referral: Referral): string[] =>
    [...entries.values()]
      .filter((e) => e.referral.engagementId === referral.engagementId && e.referral.id !== referral.id)
      .map((e) => e.referral.id);
  const snapshot = (referral: Referral): Referral => structuredClone(referral);

  const create = (body: unknown, direction: 'Incoming' | 'Outgoing'): Referral => {
    if (!isObject(body)) throw new ReferralError(400, 'InvalidInput', 'body: must be a JSON object', 'body');
    const draft = structuredClone(body);
    for (const key of READ_ONLY) if (key !== 'engagementId') delete draft[key];
    if (
      draft.engagementId !== undefined &&
      draft.engagementId !== null &&
      (typeof draft.engagementId !== 'string' || !GUID.test(draft.engagementId))
    ) {
      throw invalid('engagementId', 'must be a GUID');
    }
    validateReferral(draft);
    const ticks = nextTicks();
    const stamp = formatTicks(ticks);
    const referral: Referral = {
      name: null,
      externalReferenceId: null,
      statusReason: null,
      qualification: 'None',
      team: [],
      target: [],
      inviteContext: null,
      ...draft,
      id: randomUUID(),
      engagementId: typeof draft.engagementId === 'string' ? draft.engagementId.toLowerCase() : randomUUID(),
      organizationId: options.organizationId,
      organizationName: options.organizationName,
      direction,
      eTag: newETag(),
      createdDateTime: stamp,
      updatedDateTime: stamp,
      expirationDateTime: null,
      closedDateTime: null,
      status: 'New',
      substatus: 'Pending',
    };
    if (direction === 'Outgoing') {
      // "Any deals that you create are placed in the Accepted stage by default" (contract §1.9).
      referral.status = 'Active';
      referral.substatus = 'Accepted';
      referral.acceptedDateTime = stamp;
    } else {
      referral.status = typeof draft.status === 'string' ? draft.status : 'New';
      referral.substatus = typeof draft.substatus === 'string' ? draft.substatus : 'Pending';
      referral.inviteContext ??= {
        notes: null,
        invitedBy: { organizationId: 'msft', organizationName: 'Microsoft' },
        assistanceRequestCode: 'Unknown',
      };
      checkStatus(referral.status, referral.substatus);
      if (referral.status === 'Closed') referral.closedDateTime = stamp;
    }
    referral.links = links(referral);
    const related = relatedIds(referral);
    entries.set(referral.id, { referral, createdTicks: ticks, updatedTicks: ticks });
    options.onChange({ action: 'created', referral: snapshot(referral), relatedIds: related });
    return snapshot(referral);
  };

  const write = (
    id: string,
    mutate: (draft: Referral) => void,
    rules: { ifMatch?: string; force?: boolean },
  ): Referral => {
    const entry = entries.get(id);
    if (!entry) throw new ReferralError(404, 'NotFound', `referral '${id}' was not found`);
    const current = entry.referral;
    if (rules.ifMatch !== undefined && rules.ifMatch.trim() !== '*') {
      const unquote = (tag: string): string =>
        tag
          .trim()
          .replace(/^W\//, '')
          .replace(/^"(.*)"$/, '$1');
      if (unquote(rules.ifMatch) !== unquote(current.eTag)) {
        throw new ReferralError(
          412,
          'PreconditionFailed',
          `If-Match: eTag ${rules.ifMatch} does not match the current eTag ${current.eTag}`,
          'If-Match',
        );
      }
    }
    if (!rules.force && TERMINAL_SUBSTATUSES.has(current.substatus)) {
      throw new ReferralError(
        400,
        'TerminalState',
        `referral '${id}' is ${current.status}/${current.substatus}, a terminal state, and cannot be modified`,
      );
    }
    const draft = structuredClone(current);
    mutate(draft);
    for (const key of READ_ONLY) draft[key] = structuredClone(current[key]);
    validateReferral(draft);
    if (!rules.force) checkStatus(draft.status, draft.substatus, current.status);
    const ticks = nextTicks();
    draft.updatedDateTime = formatTicks(ticks);
    draft.eTag = newETag();
    if (draft.status === 'Closed' && current.status !== 'Closed')
      draft.closedDateTime = draft.updatedDateTime;
    entries.set(id, { referral: draft, createdTicks: entry.createdTicks, updatedTicks: ticks });
    options.onChange({ action: 'updated', referral: snapshot(draft), relatedIds: relatedIds(draft) });
    return snapshot(draft);
  };

  const ticksOf = (record: DatedRecord, field: string): bigint => {
    const entry = entries.get(record.id as string);
    if (!entry) return 0n;
    return field === 'createdDateTime' ? entry.createdTicks : entry.updatedTicks;
  };

  return {
    createAsPartner: (body) => create(body, 'Outgoing'),
    createAsMicrosoft: (body) => create(body, 'Incoming'),
    get: (id) => {
      const entry = entries.get(id);
      return entry ? snapshot(entry.referral) : undefined;
    },
    query(predicate, orderBy) {
      const rows = [...entries.values()].filter((entry) => !predicate || predicate(entry.referral, ticksOf));
      const key = (entry: Entry): bigint =>
        orderBy.field === 'createdDateTime' ? entry.createdTicks : entry.updatedTicks;
      rows.sort((a, b) => {
        const byKey = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.referral.id.localeCompare(b.referral.id);
        return orderBy.descending ? -byKey : byKey;
      });
      return rows.map((entry) => snapshot(entry.referral));
    },
    patch: (id, operations, ifMatch) => write(id, (draft) => applyPatch(draft, operations), { ifMatch }),
    updateAsMicrosoft(id, changes, updateOptions = {}) {
      return write(
        id,
        (draft) => {
          if (Array.isArray(changes)) applyPatch(draft, changes);
          else if (isObject(changes)) deepMerge(draft, changes);
          else
            throw new ReferralError(
              400,
              'InvalidInput',
              'body: must be a JSON object or a JSON Patch array',
              'body',
            );
        },
        { force: updateOptions.force },
      );
    },
    size: () => entries.size,
    clear: () => entries.clear(),
  };
}
