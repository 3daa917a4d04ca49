/**
 * The declarative field mapping (config/mapping.json): its types, and `parseMapping`, which
 * checks it against the Opportunity schema and the referral schema and reports every problem at
 * once, each naming the entry at fault. Pure: the file reads live in relay/src/mappingLoader.ts.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { REFERRAL_PATHS } from './referralSchema.ts';
import { TRANSFORMS } from './transforms.ts';
import type {
  DescribedFields,
  Direction,
  FieldInfo,
  FieldMapping,
  Mapping,
  OpportunitySchema,
} from './mappingTypes.ts';
import { DIRECTIONS, LEGACY_DIRECTIONS, OWNERS, TRANSFORM_NAMES } from './mappingTypes.ts';

export * from './mappingTypes.ts';

/**
 * The Account fields the customer block may name. The relay never reads Account metadata from
 * force-app (the package adds no Account fields), so standard address fields are listed here and
 * any custom field is accepted by its suffix.
 */

const nonEmpty = z.string().trim().min(1, 'must be a non-empty string');

const fieldSchema = z.strictObject({
  name: nonEmpty,
  opportunity: nonEmpty,
  referral: nonEmpty,
  direction: z.enum(DIRECTIONS, { error: `must be one of ${DIRECTIONS.join(', ')}` }),
  owner: z.enum(OWNERS, { error: `must be one of ${OWNERS.join(', ')}` }).optional(),
  transform: z.enum(TRANSFORM_NAMES, { error: `must be one of ${TRANSFORM_NAMES.join(', ')}` }),
  inboundUpdates: z.boolean({ error: 'must be true or false' }).optional(),
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
  defaults: z
    .record(
      z.string(),
      z
        .strictObject({
          from: nonEmpty.optional(),
          addDays: z.number().int('must be a whole number of days').optional(),
          value: z.union([z.string(), z.number(), z.boolean()]).optional(),
        })
        .refine((d) => d.from !== undefined || d.value !== undefined, {
          message: 'needs "from" (a referral path) or "value"',
        })
        .refine((d) => d.addDays === undefined || d.from !== undefined, {
          message: '"addDays" needs "from"',
        }),
    )
    .optional(),
  partnerCenterLengths: z
    .record(z.string(), z.number().int().positive('must be a positive whole number'))
    .optional(),
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
  const writesSalesforce = entry.direction !== 'outbound';
  const writesPartnerCenter = entry.direction !== 'inbound';

  if (entry.direction === 'both' && entry.owner === undefined) {
    problems.push(`${label}.owner: required when direction is both (who wins a conflict)`);
  }
  if (entry.direction !== 'both' && entry.owner !== undefined) {
    problems.push(`${label}.owner: only applies when direction is both, not ${entry.direction}`);
  }
  if (entry.inboundUpdates === false && !writesSalesforce) {
    problems.push(
      `${label}.inboundUpdates: only applies to a field Partner Center writes, not ${entry.direction}`,
    );
  }
  if (entry.inboundUpdates === false && ['referralLink', 'stage', 'account'].includes(entry.transform)) {
    problems.push(
      `${label}.inboundUpdates: the ${entry.transform} field cannot be paused; the pair's status and link depend on it`,
    );
  }
  if (field === undefined) {
    problems.push(`${label}.opportunity: "${entry.opportunity}" is not an Opportunity field`);
  } else if (writesSalesforce && field.updateable === false) {
    problems.push(
      `${label}.opportunity: "${entry.opportunity}" is read-only in Salesforce; use direction outbound`,
    );
  }
  if (path === undefined) {
    problems.push(`${label}.referral: "${entry.referral}" is not a known referral path`);
  } else if (writesPartnerCenter && path.readOnly === true) {
    problems.push(`${label}.referral: "${entry.referral}" is set by Partner Center; use direction inbound`);
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
  if (entry.transform === 'stage' && entry.opportunity !== schema.stageFields.stage) {
    problems.push(
      `${label}.opportunity: the stage transform writes ${schema.stageFields.stage}, not ${entry.opportunity}`,
    );
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
  if (entry.direction !== 'outbound' && field.restricted === true) {
    const missing = referralValues.filter((value) => !picklist.includes(value));
    if (missing.length > 0) {
      problems.push(
        `${label}.opportunity: picklist ${entry.opportunity} lacks ${missing.join(', ')} (values of ${entry.referral})`,
      );
    }
  }
  if (entry.direction !== 'inbound') {
    const unknown = picklist.filter((value) => !referralValues.includes(value));
    if (unknown.length > 0) {
      problems.push(
        `${label}.opportunity: picklist ${entry.opportunity} has ${unknown.join(', ')}, which ${entry.referral} does not accept`,
      );
    }
  }
  return problems;
}

const DATE_TYPES = ['Date', 'DateTime'];
const NUMBER_TYPES = ['Currency', 'Number', 'Percent', 'Double', 'Int'];
const TEXT_FIELD_TYPES = ['Text', 'TextArea', 'LongTextArea', 'Html', 'Url', 'Email', 'Phone', 'Picklist'];

/** Which referral kinds and literal type a default for a field of this type may use. */
function defaultShapeFor(type: string): { kinds: string[]; literal: string } | undefined {
  if (DATE_TYPES.includes(type)) return { kinds: ['date', 'datetime'], literal: 'string' };
  if (NUMBER_TYPES.includes(type)) return { kinds: ['number'], literal: 'number' };
  if (TEXT_FIELD_TYPES.includes(type)) return { kinds: ['string', 'enum'], literal: 'string' };
  if (type === 'Checkbox') return { kinds: ['boolean'], literal: 'boolean' };
  return undefined;
}

function checkDefaults(mapping: Mapping, schema: OpportunitySchema): string[] {
  const problems: string[] = [];
  for (const [fieldName, fallback] of Object.entries(mapping.defaults)) {
    const label = `defaults.${fieldName}`;
    const field = schema.opportunityFields.get(fieldName);
    if (field === undefined) {
      problems.push(`${label}: "${fieldName}" is not an Opportunity field`);
      continue;
    }
    if (field.updateable === false) {
      problems.push(`${label}: "${fieldName}" is read-only in Salesforce`);
      continue;
    }
    const shape = defaultShapeFor(field.type);
    if (shape === undefined) {
      problems.push(`${label}: a ${field.type} field cannot take a default`);
      continue;
    }
    if (fallback.from !== undefined) {
      const path = REFERRAL_PATHS.get(fallback.from);
      if (path === undefined) problems.push(`${label}.from: "${fallback.from}" is not a known referral path`);
      else if (!shape.kinds.includes(path.kind))
        problems.push(`${label}.from: "${fallback.from}" (${path.kind}) cannot fill a ${field.type} field`);
      else if (fallback.addDays !== undefined && !['date', 'datetime'].includes(path.kind))
        problems.push(`${label}.addDays: only applies to a date or datetime path, not "${fallback.from}"`);
    }
    if (fallback.value !== undefined) {
      if (typeof fallback.value !== shape.literal)
        problems.push(`${label}.value: must be a ${shape.literal} for the ${field.type} field ${fieldName}`);
      else if (DATE_TYPES.includes(field.type) && !/^\d{4}-\d{2}-\d{2}$/.test(String(fallback.value)))
        problems.push(`${label}.value: must be a date YYYY-MM-DD`);
      else if (
        field.restricted === true &&
        field.picklistValues !== undefined &&
        !field.picklistValues.includes(String(fallback.value))
      )
        problems.push(
          `${label}.value: "${String(fallback.value)}" is not a value of the ${fieldName} picklist`,
        );
    }
  }
  // A required field the relay may leave blank makes every such create fail for good.
  for (const field of schema.opportunityFields.values()) {
    if (field.required !== true || field.updateable === false) continue;
    if (Object.hasOwn(mapping.defaults, field.name)) continue;
    const fromId = mapping.fields.some(
      (entry) =>
        entry.opportunity === field.name && entry.referral === 'id' && entry.direction !== 'outbound',
    );
    if (!fromId)
      problems.push(
        `defaults: ${field.name} is required in Salesforce; give it a default for referrals that leave it blank`,
      );
  }
  return problems;
}

/**
 * Required Opportunity fields (as `schema` defines them) that the mapping can leave blank on a
 * create: with the org's describe, a field an admin made required after the mapping was written.
 */
export function unfilledRequiredFields(mapping: Mapping, schema: DescribedFields): string[] {
  return [...schema.opportunityFields.values()]
    .filter((field) => field.required === true && field.updateable !== false)
    .filter((field) => !Object.hasOwn(mapping.defaults, field.name))
    .filter(
      (field) =>
        !mapping.fields.some(
          (entry) =>
            entry.opportunity === field.name && entry.referral === 'id' && entry.direction !== 'outbound',
        ),
    )
    .map((field) => field.name);
}

/** What the relay writes, by Opportunity field: the mapped fields and the defaulted ones. */
function targetsOf(
  mapping: Pick<Mapping, 'fields' | 'defaults'>,
  schema: DescribedFields,
): Record<string, FieldInfo> {
  const targets: Record<string, FieldInfo> = {};
  const names = [...mapping.fields.map((entry) => entry.opportunity), ...Object.keys(mapping.defaults)];
  for (const name of names) {
    const field = schema.opportunityFields.get(name);
    if (field !== undefined) targets[name] = field;
  }
  return targets;
}

/**
 * The mapping with its field rules replaced by `schema`'s (the org's describe in production), so
 * values are fitted to the fields as the org defines them rather than as force-app does.
 */
export function withTargets(mapping: Mapping, schema: DescribedFields): Mapping {
  const described = targetsOf(mapping, schema);
  return deepFreeze({ ...mapping, targets: { ...mapping.targets, ...described } });
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
      [salesforceTargets, entry.opportunity, entry.direction !== 'outbound'],
      [partnerCenterTargets, entry.referral, entry.direction !== 'inbound'],
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
    (entry) => entry.referral === 'id' && entry.transform === 'text' && entry.direction === 'inbound',
  );
  if (!linksReferral) {
    problems.push(
      'fields: no entry maps the referral id (text, inbound) to an Opportunity field; records could not be linked',
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
    if (!schema.accountFields.has(accountField) && !schema.customAccountField.test(accountField)) {
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
  const notices: string[] = [];
  const entries: Array<{ entry: FieldMapping; index: number }> = [];
  result.data.fields.forEach((raw, index) => {
    const field = fieldSchema.safeParse(withCurrentNames(raw, entryLabel(json, ['fields', index]), notices));
    if (field.success) entries.push({ entry: field.data, index });
    else problems.push(...describe(field.error.issues, ['fields', index]));
  });
  const { stages, referralLinkTemplate, customer } = result.data;
  const base = {
    stages,
    referralLinkTemplate,
    customer,
    fields: entries.map(({ entry }) => entry),
    defaults: result.data.defaults ?? {},
    partnerCenterLengths: result.data.partnerCenterLengths ?? {},
    notices,
    stageFields: schema.stageFields,
    accountTargets: Object.fromEntries(
      Object.values(customer).flatMap((name) => {
        const info = schema.accountFields.get(name);
        return info === undefined ? [] : [[name, info] as const];
      }),
    ),
  };
  const mapping: Mapping = deepFreeze({ ...base, targets: targetsOf(base, schema) });
  problems.push(...checkMapping(mapping, entries, schema, json));
  problems.push(...checkDefaults(mapping, schema));
  for (const path of Object.keys(mapping.partnerCenterLengths)) {
    if (REFERRAL_PATHS.get(path)?.kind !== 'string')
      problems.push(`partnerCenterLengths.${path}: not a referral text path`);
  }
  if (problems.length > 0) throw new ConfigError('MAPPING_INVALID', problems);
  return mapping;
}

/** An entry with a direction's older name (pc-to-sf, sf-to-pc) renamed, and a notice that says so. */
function withCurrentNames(raw: unknown, label: string, notices: string[]): unknown {
  const direction = (raw as { direction?: unknown } | null)?.direction;
  if (typeof direction !== 'string' || !Object.hasOwn(LEGACY_DIRECTIONS, direction)) return raw;
  const current = LEGACY_DIRECTIONS[direction];
  notices.push(
    `${label}.direction: "${direction}" is the old name of "${current}"; it still works, but write "${current}"`,
  );
  return { ...(raw as Record<string, unknown>), direction: current };
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
  const skip: Direction = direction === 'inbound' ? 'outbound' : 'inbound';
  return mapping.fields.filter((entry) => entry.direction !== skip);
}

/**
 * The entries whose updates from Partner Center are paused (`inboundUpdates: false`): a new deal
 * gets the referral's value, later changes of it stay in Partner Center.
 */
export function inboundPausedEntries(mapping: Mapping): FieldMapping[] {
  return mapping.fields.filter((entry) => entry.inboundUpdates === false);
}

/** The deal fields the mapping reads or writes: what a read selects and the trigger watches. */
export function mappedOpportunityFields(mapping: Mapping): string[] {
  return [...new Set(mapping.fields.map((entry) => entry.opportunity))];
}
