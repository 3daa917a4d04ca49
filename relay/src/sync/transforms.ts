/**
 * Named value transforms between a referral path and an Opportunity field. Each knows which
 * Salesforce field types and referral kinds it fits (checked when the mapping loads) and converts
 * in both directions. A transform returns `undefined` for "leave the target alone".
 */
import { RelayError } from '../errors.ts';
import type { FieldMapping, Mapping, TransformName } from './mappingTypes.ts';
import type { Referral, ReferralKind, SolutionTag } from './referralSchema.ts';
import { REFERRAL_PATHS } from './referralSchema.ts';
import type { StatusPair } from './stage.ts';
import { stageForStatus, statusForDeal } from './stage.ts';

export interface TransformContext {
  readonly mapping: Mapping;
  readonly entry: FieldMapping;
  /** Inbound: the whole referral (the stage reads the substatus beside the status). */
  readonly referral?: Referral;
  /** Outbound: the whole deal (the stage reads the CRM's won and closed flags). */
  readonly opportunity?: Readonly<Record<string, unknown>>;
}

/** The customer a referral names; the inbound job resolves it to an account id. */
export interface CustomerInfo {
  name: string | null;
  street: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string | null;
}

export interface Transform {
  readonly name: TransformName;
  /** Salesforce field types (as in field-meta XML) the transform can read and write. */
  readonly salesforceTypes: readonly string[];
  readonly referralKinds: readonly ReferralKind[];
  /** True when only Partner Center → Salesforce makes sense (ids, links, the customer). */
  readonly inboundOnly: boolean;
  toSalesforce(value: unknown, context: TransformContext): unknown;
  toPartnerCenter(value: unknown, context: TransformContext): unknown;
}

const TEXT_TYPES = ['Text', 'TextArea', 'LongTextArea', 'Html', 'Url', 'Email', 'Phone', 'Picklist'];

function failure(context: TransformContext, problem: string): RelayError {
  const { entry } = context;
  return new RelayError(
    'VALIDATION_FAILED',
    `${entry.name} (${entry.opportunity} ↔ ${entry.referral}): ${problem}`,
    {
      details: { field: entry.opportunity, path: entry.referral },
    },
  );
}

function inboundOnly(name: TransformName) {
  return (_value: unknown, context: TransformContext): never => {
    throw failure(context, `the ${name} transform only maps Partner Center → Salesforce`);
  };
}

/** Salesforce has no empty string: '' and null are the same "blank" value there. */
export function blankToNull(value: unknown): unknown {
  return value === undefined || value === '' ? null : value;
}

function toText(value: unknown): string | null {
  const blank = blankToNull(value);
  if (blank === null) return null;
  return typeof blank === 'string' ? blank : String(blank);
}

function toNumber(value: unknown, context: TransformContext): number | null {
  const blank = blankToNull(value);
  if (blank === null) return null;
  // The docs' own PATCH example sends dealValue as the string "10000" (§1.5).
  const number = typeof blank === 'number' ? blank : Number(String(blank).trim());
  if (!Number.isFinite(number)) throw failure(context, `${JSON.stringify(value)} is not a number`);
  return number;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A UTC datetime → its UTC calendar day, `YYYY-MM-DD`. */
export function utcDay(value: unknown): string | null {
  const blank = blankToNull(value);
  if (blank === null) return null;
  if (typeof blank === 'string' && DAY.test(blank)) return blank;
  const date = blank instanceof Date ? blank : new Date(String(blank));
  return Number.isNaN(date.getTime()) ? null : date.toISOString().slice(0, 10);
}

function dayToUtcMidnight(value: unknown, context: TransformContext): string | null {
  const day = utcDay(value);
  if (day === null && blankToNull(value) !== null)
    throw failure(context, `${JSON.stringify(value)} is not a date`);
  return day === null ? null : `${day}T00:00:00Z`;
}

/** The Partner Center address of referral `id`: the mapping's referralLinkTemplate with the id in it. */
export function referralLinkOf(template: string, id: string): string {
  return template.replaceAll('{id}', encodeURIComponent(id));
}

/** `value` as an ISO 8601 UTC instant to the millisecond, or null when it is blank or no date. */
export function utcInstant(value: unknown): string | null {
  const text = blankToNull(value);
  if (typeof text !== 'string') return null;
  const time = Date.parse(text);
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

/** Splits the deal's solutions field (ids separated by `;`, `,` or lines) into unique ids, in order. */
export function splitSolutionIds(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  const ids = value
    .split(/[;,\n]/)
    .map((id) => id.trim())
    .filter((id) => id !== '');
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = id.toUpperCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The solution ids of a `details.requirements.solutions` array, skipping malformed items. */
export function solutionIdsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((item) => (item !== null && typeof item === 'object' ? (item as SolutionTag).id : undefined))
    .filter((id): id is string => typeof id === 'string' && id.trim() !== '')
    .map((id) => id.trim());
}

function unsetValueOf(context: TransformContext): string | undefined {
  return REFERRAL_PATHS.get(context.entry.referral)?.unsetValue;
}

function pickString(source: Record<string, unknown>, key: string): string | null {
  const value = source[key];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** The customer a `customerProfile` names; null when it has no name to match or create an Account by. */
export function customerFromProfile(profile: unknown): CustomerInfo | null {
  if (profile === null || typeof profile !== 'object') return null;
  const customer = profile as Record<string, unknown>;
  const name = pickString(customer, 'name');
  if (name === null) return null;
  const address =
    customer.address !== null && typeof customer.address === 'object'
      ? (customer.address as Record<string, unknown>)
      : {};
  const lines = [pickString(address, 'addressLine1'), pickString(address, 'addressLine2')].filter(
    (line) => line !== null,
  );
  return {
    name,
    street: lines.length === 0 ? null : lines.join('\n'),
    city: pickString(address, 'city'),
    // The observed payload (§1.9 b) leaves `state` null and puts the state code in `region`.
    state: pickString(address, 'state') ?? pickString(address, 'region'),
    postalCode: pickString(address, 'postalCode'),
    country: pickString(address, 'country'),
  };
}

const transformList: readonly Transform[] = [
  {
    name: 'text',
    salesforceTypes: TEXT_TYPES,
    referralKinds: ['string', 'enum'],
    inboundOnly: false,
    // An enum's "unset" value (`None`, `Unknown`) is blank in Salesforce, as a restricted picklist lacks it.
    toSalesforce: (value, context) => {
      const text = toText(value);
      return text === unsetValueOf(context) ? null : text;
    },
    toPartnerCenter: (value) => toText(value),
  },
  {
    name: 'number',
    salesforceTypes: ['Currency', 'Number', 'Percent', 'Double', 'Int'],
    referralKinds: ['number'],
    inboundOnly: false,
    toSalesforce: toNumber,
    toPartnerCenter: toNumber,
  },
  {
    name: 'date',
    salesforceTypes: ['Date'],
    referralKinds: ['date', 'datetime'],
    inboundOnly: false,
    toSalesforce: (value, context) => {
      const day = utcDay(value);
      if (day === null && blankToNull(value) !== null)
        throw failure(context, `${JSON.stringify(value)} is not a date`);
      return day;
    },
    toPartnerCenter: dayToUtcMidnight,
  },
  {
    // A point in time (a DateTime field), kept to the millisecond in UTC: Partner Center's seven
    // fractional digits and Salesforce's `+0000` offset compare equal once both are ISO 8601 in UTC.
    name: 'datetime',
    salesforceTypes: ['DateTime'],
    referralKinds: ['datetime'],
    inboundOnly: false,
    toSalesforce: (value, context) => {
      const instant = utcInstant(value);
      if (instant === null && blankToNull(value) !== null)
        throw failure(context, `${JSON.stringify(value)} is not a date and time`);
      return instant;
    },
    toPartnerCenter: (value) => utcInstant(value),
  },
  {
    name: 'boolean',
    salesforceTypes: ['Checkbox'],
    referralKinds: ['boolean'],
    inboundOnly: false,
    // A Checkbox is never null: an absent consent means "not given".
    toSalesforce: (value) => value === true,
    toPartnerCenter: (value) => value === true,
  },
  {
    name: 'picklist',
    salesforceTypes: ['Picklist'],
    referralKinds: ['enum'],
    inboundOnly: false,
    toSalesforce: (value, context) => {
      const text = toText(value);
      return text === null || text === unsetValueOf(context) ? null : text;
    },
    toPartnerCenter: (value, context) => toText(value) ?? unsetValueOf(context) ?? null,
  },
  {
    name: 'solutions',
    salesforceTypes: ['Text', 'TextArea', 'LongTextArea'],
    referralKinds: ['solutions'],
    inboundOnly: false,
    toSalesforce: (value) => {
      const ids = solutionIdsOf(value);
      return ids.length === 0 ? null : ids.join(';');
    },
    toPartnerCenter: (value): SolutionTag[] => splitSolutionIds(value).map((id) => ({ id, type: 'Name' })),
  },
  {
    name: 'referralLink',
    salesforceTypes: ['Url', 'Text'],
    referralKinds: ['string'],
    inboundOnly: true,
    toSalesforce: (value, context) => {
      const id = toText(value);
      return id === null ? null : referralLinkOf(context.mapping.referralLinkTemplate, id);
    },
    toPartnerCenter: inboundOnly('referralLink'),
  },
  {
    name: 'stage',
    salesforceTypes: ['Picklist'],
    referralKinds: ['enum'],
    inboundOnly: false,
    toSalesforce: (value, context) =>
      stageForStatus({ status: value, substatus: context.referral?.substatus }, context.mapping.stages) ??
      undefined,
    toPartnerCenter: (value, context): StatusPair | null =>
      statusForDeal({ ...context.opportunity, [context.mapping.stageFields.stage]: value }, context.mapping),
  },
  {
    name: 'account',
    salesforceTypes: ['Lookup'],
    referralKinds: ['object'],
    inboundOnly: true,
    toSalesforce: (value) => customerFromProfile(value),
    toPartnerCenter: inboundOnly('account'),
  },
];

export const TRANSFORMS: ReadonlyMap<string, Transform> = new Map(transformList.map((t) => [t.name, t]));

export function getTransform(name: TransformName): Transform {
  const transform = TRANSFORMS.get(name);
  if (transform === undefined) throw new RelayError('INTERNAL', `unknown transform ${name}`);
  return transform;
}
