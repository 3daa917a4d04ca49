/**
 * The declarative field mapping (config/mapping.json): its types, and `parseMapping`, which
 * checks it against the Opportunity schema and the referral schema and reports every problem at
 * once, each naming the entry at fault. Pure: the file reads live in mappingLoader.ts.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { REFERRAL_PATHS } from './referralSchema.ts';
import { TRANSFORMS } from './transforms.ts';

export const DIRECTIONS = ['pc-to-sf', 'sf-to-pc', 'both'] as const;
export const OWNERS = ['salesforce', 'partnerCenter'] as const;
export const TRANSFORM_NAMES = [
  'text',
  'number',
  'date',
  'boolean',
  'picklist',
  'solutions',
  'referralLink',
  'stage',
  'account',
] as const;

export type Direction = (typeof DIRECTIONS)[number];
export type Owner = (typeof OWNERS)[number];
export type TransformName = (typeof TRANSFORM_NAMES)[number];

export interface FieldMapping {
  readonly name: string;
  readonly opportunity: string;
  /** Dotted referral path, e.g. `details.dealValue`. */
  readonly referral: string;
  readonly direction: Direction;
  /** Who wins when both sides changed since the last sync; present exactly when direction is `both`. */
  readonly owner?: Owner;
  readonly transform: TransformName;
}

export interface StageNames {
  readonly onHold: string;
  readonly active: string;
  readonly won: string;
  readonly lost: string;
}

/** Account fields (API names) that hold the referral's customer. */
export interface CustomerFields {
  readonly accountName: string;
  readonly addressLine1: string;
  readonly city: string;
  readonly state: string;
  readonly postalCode: string;
  readonly country: string;
}

export interface Mapping {
  readonly stages: StageNames;
  /** Link to a referral in Partner Center; `{id}` is replaced by the referral id. */
  readonly referralLinkTemplate: string;
  readonly customer: CustomerFields;
  readonly fields: readonly FieldMapping[];
}

/** One Opportunity field, as its field-meta XML (or the standard object) defines it. */
export interface FieldInfo {
  readonly name: string;
  /** The metadata type: Text, Currency, Date, Checkbox, Picklist, Lookup, … */
  readonly type: string;
  readonly length?: number;
  readonly picklistValues?: readonly string[];
  readonly restricted?: boolean;
  /** False for fields the API never lets a client write (IsWon, IsClosed, formulas). */
  readonly updateable?: boolean;
}

export interface OpportunitySchema {
  readonly opportunityFields: ReadonlyMap<string, FieldInfo>;
}

/**
 * The Account fields the customer block may name. The relay never reads Account metadata from
 * force-app (the package adds no Account fields), so standard address fields are listed here and
 * any custom field is accepted by its suffix.
 */
const ACCOUNT_FIELDS = new Set([
  'Name',
  'BillingStreet',
  'BillingCity',
  'BillingState',
  'BillingPostalCode',
  'BillingCountry',
  'BillingStateCode',
  'BillingCountryCode',
  'ShippingStreet',
  'ShippingCity',
  'ShippingState',
  'ShippingPostalCode',
  'ShippingCountry',
  'ShippingStateCode',
  'ShippingCountryCode',
]);

const nonEmpty = z.string().trim().min(1, 'must be a non-empty string');

const fieldSchema = z.strictObject({
  name: nonEmpty,
  opportunity: nonEmpty,
  referral: nonEmpty,
  direction: z.enum(DIRECTIONS, { error: `must be one of ${DIRECTIONS.join(', ')}` }),
  owner: z.enum(OWNERS, { error: `must be one of ${OWNERS.join(', ')}` }).optional(),
  transform: z.enum(TRANSFORM_NAMES, { error: `must be one of ${TRANSFORM_NAMES.join(', ')}` }),
});

const mappingSchema = z.strictObject({
  $comment: z.string().optional(),
  stages: z.strictObject({ onHold: nonEmpty, active: nonEmpty, won: nonEmpty, lost: nonEmpty }),
  referralLinkTemplate: z
    .string()
    .refine((template) => /^https:\/\/[^\s]+$/.test(template) && template.includes('{id}'), {
      message: 'must be an https URL containing {id}',
    }),
  customer: z.strictObject({
    accountName: nonEmpty,
    addressLine1: nonEmpty,
    city: nonEmpty,
    state: nonEmpty,
    postalCode: nonEmpty,
    country: nonEmpty,
  }),
  // Entries are checked one by one (parseMapping), so one bad entry does not hide the others' problems.
  fields: z.array(z.unknown()).min(1, 'must list at least one field'),
});

/** `fields[3] (dealValue).opportunity` — the label every problem starts with. */
function entryLabel(raw: unknown, path: readonly PropertyKey[]): string {
  const [head, index, ...rest] = path;
  if (head === 'fields' && typeof index === 'number') {
    const entry = (raw as { fields?: unknown[] } | null)?.fields?.[index];
    const name =
      entry !== null && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string'
        ? ` (${(entry as { name: string }).name})`
        : '';
    return [`fields[${index}]${name}`, ...rest.map(String)].join('.');
  }
  return path.length === 0 ? 'mapping' : path.map(String).join('.');
}

/** Values a transform writes into Salesforce for an enum path ("unset" values become null). */
function producibleValues(path: string): string[] | undefined {
  const info = REFERRAL_PATHS.get(path);
  if (info?.values === undefined) return undefined;
  return info.values.filter((value) => value !== info.unsetValue);
}

function checkEntry(entry: FieldMapping, label: string, schema: OpportunitySchema): string[] {
  const problems: string[] = [];
  const field = schema.opportunityFields.get(entry.opportunity);
  const path = REFERRAL_PATHS.get(entry.referral);
  const transform = TRANSFORMS.get(entry.transform);
  const writesSalesforce = entry.direction !== 'sf-to-pc';
  const writesPartnerCenter = entry.direction !== 'pc-to-sf';

  if (entry.direction === 'both' && entry.owner === undefined) {
    problems.push(`${label}.owner: required when direction is both (who wins a conflict)`);
  }
  if (entry.direction !== 'both' && entry.owner !== undefined) {
    problems.push(`${label}.owner: only applies when direction is both, not ${entry.direction}`);
  }
  if (field === undefined) {
    problems.push(`${label}.opportunity: "${entry.opportunity}" is not an Opportunity field`);
  } else if (writesSalesforce && field.updateable === false) {
    problems.push(
      `${label}.opportunity: "${entry.opportunity}" is read-only in Salesforce; use direction sf-to-pc`,
    );
  }
  if (path === undefined) {
    problems.push(`${label}.referral: "${entry.referral}" is not a known referral path`);
  } else if (writesPartnerCenter && path.readOnly === true) {
    problems.push(`${label}.referral: "${entry.referral}" is set by Partner Center; use direction pc-to-sf`);
  }
  if (transform === undefined) return problems;
  if (transform.inboundOnly && writesPartnerCenter) {
    problems.push(
      `${label}.direction: the ${entry.transform} transform only maps Partner Center → Salesforce`,
    );
  }
  if (field !== undefined && !transform.salesforceTypes.includes(field.type)) {
    problems.push(
      `${label}.transform: ${entry.transform} needs a ${transform.salesforceTypes.join(' or ')} field, ` +
        `but ${entry.opportunity} is ${field.type}`,
    );
  }
  if (path !== undefined && !transform.referralKinds.includes(path.kind)) {
    problems.push(
      `${label}.transform: ${entry.transform} cannot read or write "${entry.referral}" (${path.kind})`,
    );
  }
  const requiredPath = { stage: 'status', referralLink: 'id', account: 'customerProfile' }[
    entry.transform as string
  ];
  if (requiredPath !== undefined && entry.referral !== requiredPath) {
    problems.push(
      `${label}.referral: the ${entry.transform} transform works on "${requiredPath}", not "${entry.referral}"`,
    );
  }
  if (entry.transform === 'stage' && entry.opportunity !== 'StageName') {
    problems.push(`${label}.opportunity: the stage transform writes StageName, not ${entry.opportunity}`);
  }
  if (field?.type === 'Picklist' && path !== undefined && ['text', 'picklist'].includes(entry.transform)) {
    problems.push(...checkPicklistFit(entry, label, field));
  }
  return problems;
}

/**
 * A restricted picklist rejects any value outside its list, so every value the referral can
 * carry must be in it (inbound), and every picklist value must be a code Partner Center accepts
 * (outbound). Unrestricted or org-defined picklists (no values known) are not checked.
 */
function checkPicklistFit(entry: FieldMapping, label: string, field: FieldInfo): string[] {
  const problems: string[] = [];
  const referralValues = producibleValues(entry.referral);
  if (referralValues === undefined) {
    if (entry.transform === 'picklist' || field.restricted === true) {
      problems.push(
        `${label}.transform: "${entry.referral}" has no fixed value set to fit the ${entry.opportunity} picklist`,
      );
    }
    return problems;
  }
  const picklist = field.picklistValues;
  if (picklist === undefined) return problems;
  if (entry.direction !== 'sf-to-pc' && field.restricted === true) {
    const missing = referralValues.filter((value) => !picklist.includes(value));
    if (missing.length > 0) {
      problems.push(
        `${label}.opportunity: picklist ${entry.opportunity} lacks ${missing.join(', ')} (values of ${entry.referral})`,
      );
    }
  }
  if (entry.direction !== 'pc-to-sf') {
    const unknown = picklist.filter((value) => !referralValues.includes(value));
    if (unknown.length > 0) {
      problems.push(
        `${label}.opportunity: picklist ${entry.opportunity} has ${unknown.join(', ')}, which ${entry.referral} does not accept`,
      );
    }
  }
  return problems;
}

function checkMapping(
  mapping: Mapping,
  entries: ReadonlyArray<{ entry: FieldMapping; index: number }>,
  schema: OpportunitySchema,
  raw: unknown,
): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  const salesforceTargets = new Map<string, string>();
  const partnerCenterTargets = new Map<string, string>();

  for (const { entry, index } of entries) {
    const label = entryLabel(raw, ['fields', index]);
    const previous = names.get(entry.name);
    if (previous !== undefined)
      problems.push(`${label}.name: "${entry.name}" is also the name of fields[${previous}]`);
    else names.set(entry.name, index);

    // Two entries writing the same target would fight over it on every sync.
    const targetKeys: Array<[Map<string, string>, string, boolean]> = [
      [salesforceTargets, entry.opportunity, entry.direction !== 'sf-to-pc'],
      [partnerCenterTargets, entry.referral, entry.direction !== 'pc-to-sf'],
    ];
    for (const [targets, key, writes] of targetKeys) {
      if (!writes) continue;
      const other = targets.get(key);
      if (other !== undefined) problems.push(`${label}: writes ${key}, which ${other} also writes`);
      else targets.set(key, label);
    }
    problems.push(...checkEntry(entry, label, schema));
  }

  const linksReferral = mapping.fields.some(
    (entry) => entry.referral === 'id' && entry.transform === 'text' && entry.direction === 'pc-to-sf',
  );
  if (!linksReferral) {
    problems.push(
      'fields: no entry maps the referral id (text, pc-to-sf) to an Opportunity field; records could not be linked',
    );
  }

  const stageNames = Object.entries(mapping.stages);
  for (const [category, stage] of stageNames) {
    const same = stageNames.filter(([, other]) => other === stage).map(([other]) => other);
    if (same.length > 1 && same[0] === category) {
      problems.push(`stages: ${same.join(' and ')} are both "${stage}"; each stage must be distinct`);
    }
  }

  for (const [key, accountField] of Object.entries(mapping.customer)) {
    if (!ACCOUNT_FIELDS.has(accountField) && !accountField.endsWith('__c')) {
      problems.push(`customer.${key}: "${accountField}" is not an Account address field`);
    }
  }
  return problems;
}

/**
 * Validates a parsed mapping document against the Opportunity schema and returns it typed and
 * frozen; throws one ConfigError('MAPPING_INVALID') listing every problem.
 */
export function parseMapping(json: unknown, schema: OpportunitySchema): Mapping {
  const describe = (issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]) =>
    issues.map((issue) => `${entryLabel(json, [...prefix, ...issue.path])}: ${issue.message}`);
  const result = mappingSchema.safeParse(json);
  if (!result.success) throw new ConfigError('MAPPING_INVALID', describe(result.error.issues, []));

  const problems: string[] = [];
  const entries: Array<{ entry: FieldMapping; index: number }> = [];
  result.data.fields.forEach((raw, index) => {
    const field = fieldSchema.safeParse(raw);
    if (field.success) entries.push({ entry: field.data, index });
    else problems.push(...describe(field.error.issues, ['fields', index]));
  });
  const { stages, referralLinkTemplate, customer } = result.data;
  const mapping: Mapping = deepFreeze({
    stages,
    referralLinkTemplate,
    customer,
    fields: entries.map(({ entry }) => entry),
  });
  problems.push(...checkMapping(mapping, entries, schema, json));
  if (problems.length > 0) throw new ConfigError('MAPPING_INVALID', problems);
  return mapping;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The entries that carry values in one direction. */
export function entriesFor(mapping: Mapping, direction: 'inbound' | 'outbound'): FieldMapping[] {
  const skip: Direction = direction === 'inbound' ? 'sf-to-pc' : 'pc-to-sf';
  return mapping.fields.filter((entry) => entry.direction !== skip);
}

/** The Opportunity fields the mapping reads or writes, for SOQL and the trigger's changed-field check. */
export function mappedOpportunityFields(mapping: Mapping): string[] {
  return [...new Set(mapping.fields.map((entry) => entry.opportunity))];
}
