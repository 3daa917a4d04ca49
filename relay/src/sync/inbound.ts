/** Partner Center → Salesforce: a referral becomes Opportunity field values plus the customer to resolve. */
import { RelayError } from '../errors.ts';
import type { FitNote } from './fit.ts';
import { fitSalesforceValue } from './fit.ts';
import type { FieldDefault, FieldMapping, Mapping } from './mapping.ts';
import { entriesFor } from './mapping.ts';
import type { Referral } from './referralSchema.ts';
import { readPath } from './referralSchema.ts';
import type { CustomerInfo } from './transforms.ts';
import { blankToNull, getTransform, utcDay } from './transforms.ts';

export interface InboundValues {
  /** Deal field → value, for every `inbound` and `both` entry (the account lookup excepted), fitted to the field. */
  fields: Record<string, unknown>;
  /**
   * Defaults for required fields the referral says nothing about (no entry value at all, such as
   * the stage of a referral without a status): written on create only, as an update leaves them be.
   */
  createOnly: Record<string, unknown>;
  createOnlyNotes: FitNote[];
  /** The referral's customer, which the job matches to an Account (name + postal code) or creates. */
  customer: CustomerInfo | null;
  /** What fitting and defaults changed, in words for the audit line. */
  notes: FitNote[];
  /** Fields that hold a configured default rather than a referral value. */
  defaulted: string[];
}

const DAY_MS = 86_400_000;

/** No value, or text of nothing but white space (which no reader takes for a name). */
function isBlank(value: unknown): boolean {
  return blankToNull(value) === null || (typeof value === 'string' && value.trim() === '');
}

/** A default's value for this referral, and where it came from; undefined when it has none. */
function defaultFor(
  field: string,
  fallback: FieldDefault,
  referral: Referral,
  mapping: Mapping,
): { value: unknown; source: string } | undefined {
  if (fallback.from !== undefined) {
    const raw = blankToNull(readPath(referral, fallback.from));
    const isDate = ['Date', 'DateTime'].includes(mapping.targets[field]?.type ?? '');
    if (raw !== null && fallback.addDays !== undefined) {
      const day = utcDay(raw);
      if (day !== null) {
        const moved = new Date(Date.parse(`${day}T00:00:00Z`) + fallback.addDays * DAY_MS);
        if (!Number.isNaN(moved.getTime()))
          return {
            value: moved.toISOString().slice(0, 10),
            source: `${fallback.from} + ${fallback.addDays} days`,
          };
      }
    } else if (raw !== null) {
      const value = isDate ? utcDay(raw) : typeof raw === 'string' ? raw.trim() : raw;
      if (value !== null && value !== '') return { value, source: fallback.from };
    }
  }
  return fallback.value === undefined ? undefined : { value: fallback.value, source: 'configured value' };
}

export interface InboundValue {
  /** undefined: leave the field alone. */
  value: unknown;
  notes: FitNote[];
  problems: string[];
  defaulted: boolean;
}

/**
 * One entry's value as the relay writes it: transformed, fitted to the Opportunity field, and
 * defaulted when blank and the mapping has a default for the field.
 */
export function inboundValueFor(entry: FieldMapping, referral: Referral, mapping: Mapping): InboundValue {
  const raw = getTransform(entry.transform).toSalesforce(readPath(referral, entry.referral), {
    mapping,
    entry,
    referral,
  });
  if (raw === undefined || entry.transform === 'account')
    return { value: raw, notes: [], problems: [], defaulted: false };
  const field = entry.opportunity;
  const fitted = fitSalesforceValue(field, raw, mapping.targets[field]);
  const fallback = mapping.defaults[field];
  if (!isBlank(fitted.value) || fallback === undefined)
    return { value: fitted.value, notes: fitted.notes, problems: fitted.problems, defaulted: false };
  return (
    defaultedValue(field, fallback, referral, mapping) ?? {
      value: fitted.value,
      notes: fitted.notes,
      problems: fitted.problems,
      defaulted: false,
    }
  );
}

function defaultedValue(
  field: string,
  fallback: FieldDefault,
  referral: Referral,
  mapping: Mapping,
): InboundValue | undefined {
  const found = defaultFor(field, fallback, referral, mapping);
  if (found === undefined) return undefined;
  const fitted = fitSalesforceValue(field, found.value, mapping.targets[field]);
  return {
    value: fitted.value,
    notes: [
      { field, message: `${field} defaulted to ${JSON.stringify(fitted.value)} (${found.source})` },
      ...fitted.notes,
    ],
    problems: fitted.problems,
    defaulted: true,
  };
}

function fitCustomer(customer: CustomerInfo, mapping: Mapping, notes: FitNote[]): CustomerInfo {
  const names = mapping.customer;
  const fit = (key: keyof CustomerInfo, accountField: string): string | null => {
    const value = customer[key];
    if (value === null) return null;
    const fitted = fitSalesforceValue(`Account ${accountField}`, value, mapping.accountTargets[accountField]);
    notes.push(...fitted.notes);
    return fitted.value as string;
  };
  return {
    name: fit('name', names.accountName),
    street: fit('street', names.addressLine1),
    city: fit('city', names.city),
    state: fit('state', names.state),
    postalCode: fit('postalCode', names.postalCode),
    country: fit('country', names.country),
  };
}

/**
 * The Opportunity values for a referral, fitted to the fields and with the mapping's defaults for
 * required fields the referral leaves blank. Throws VALIDATION_FAILED naming every value that
 * cannot be written (no retry fixes those).
 */
export function mapReferralToOpportunity(referral: Referral, mapping: Mapping): InboundValues {
  const fields: Record<string, unknown> = {};
  const notes: FitNote[] = [];
  const problems: string[] = [];
  const defaulted: string[] = [];
  let customer: CustomerInfo | null = null;
  for (const entry of entriesFor(mapping, 'inbound')) {
    const result = inboundValueFor(entry, referral, mapping);
    // The account entry yields a customer, not a field value: only the job can turn it into an id.
    if (entry.transform === 'account') {
      customer = result.value === null ? null : fitCustomer(result.value as CustomerInfo, mapping, notes);
      continue;
    }
    notes.push(...result.notes);
    problems.push(...result.problems);
    if (result.defaulted) defaulted.push(entry.opportunity);
    if (result.value !== undefined) fields[entry.opportunity] = result.value;
  }
  const createOnly: Record<string, unknown> = {};
  const createOnlyNotes: FitNote[] = [];
  for (const [field, fallback] of Object.entries(mapping.defaults)) {
    if (Object.hasOwn(fields, field)) continue;
    const result = defaultedValue(field, fallback, referral, mapping);
    if (result === undefined) continue;
    problems.push(...result.problems);
    createOnly[field] = result.value;
    createOnlyNotes.push(...result.notes);
  }
  if (problems.length > 0) {
    throw new RelayError(
      'VALIDATION_FAILED',
      `Referral cannot be written to Salesforce: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  return { fields, createOnly, createOnlyNotes, customer, notes, defaulted };
}

/** Account field values for a customer, named as the mapping's `customer` block says (for a new Account). */
export function customerToAccountFields(
  customer: CustomerInfo,
  mapping: Mapping,
): Record<string, string | null> {
  const names = mapping.customer;
  return {
    [names.accountName]: customer.name,
    [names.addressLine1]: customer.street,
    [names.city]: customer.city,
    [names.state]: customer.state,
    [names.postalCode]: customer.postalCode,
    [names.country]: customer.country,
  };
}
