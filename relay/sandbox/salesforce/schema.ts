import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { KEY_PREFIXES } from './ids.ts';

/** Field types as the REST describe call names them. */
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'url'
  | 'email'
  | 'phone'
  | 'picklist'
  | 'boolean'
  | 'currency'
  | 'double'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'reference';

export interface FieldDefinition {
  name: string;
  label: string;
  type: FieldType;
  /** Maximum characters for text types; 0 when not applicable. */
  length: number;
  /** Total digits for number types (currency, double, percent); 0 otherwise. */
  precision?: number;
  /** Digits after the decimal point for number types; 0 otherwise. */
  scale?: number;
  custom: boolean;
  externalId: boolean;
  unique: boolean;
  caseSensitive: boolean;
  createable: boolean;
  updateable: boolean;
  /** Required on create (Salesforce reports REQUIRED_FIELD_MISSING). */
  required: boolean;
  defaultValue?: unknown;
  picklistValues?: string[];
  restrictedPicklist?: boolean;
  referenceTo?: string;
  relationshipName?: string;
}

export interface ObjectDefinition {
  name: string;
  label: string;
  keyPrefix: string;
  fields: FieldDefinition[];
}

/** Objects by name, with case-insensitive field lookup (Salesforce API names are case-insensitive). */
export interface SchemaRegistry {
  object(name: string): ObjectDefinition | undefined;
  field(sobject: string, name: string): FieldDefinition | undefined;
  /** The reference field whose relationship name is `relationship` (e.g. Account → AccountId). */
  relationship(sobject: string, relationship: string): FieldDefinition | undefined;
  objects(): ObjectDefinition[];
}

/** Salesforce's standard sales stages with their default probability, closed and won flags. */
export const OPPORTUNITY_STAGES: ReadonlyArray<{
  name: string;
  probability: number;
  closed: boolean;
  won: boolean;
}> = [
  { name: 'Prospecting', probability: 10, closed: false, won: false },
  { name: 'Qualification', probability: 10, closed: false, won: false },
  { name: 'Needs Analysis', probability: 20, closed: false, won: false },
  { name: 'Value Proposition', probability: 50, closed: false, won: false },
  { name: 'Id. Decision Makers', probability: 60, closed: false, won: false },
  { name: 'Perception Analysis', probability: 70, closed: false, won: false },
  { name: 'Proposal/Price Quote', probability: 75, closed: false, won: false },
  { name: 'Negotiation/Review', probability: 90, closed: false, won: false },
  { name: 'Closed Won', probability: 100, closed: true, won: true },
  { name: 'Closed Lost', probability: 0, closed: true, won: false },
];

/** Currencies a multi-currency org might enable; CurrencyIsoCode is a restricted picklist. */
const CURRENCIES = [
  'USD',
  'EUR',
  'GBP',
  'JPY',
  'AUD',
  'CAD',
  'CHF',
  'CNY',
  'INR',
  'BRL',
  'MXN',
  'SEK',
  'NOK',
  'DKK',
  'NZD',
  'SGD',
  'ZAR',
];

type FieldSpec = Partial<FieldDefinition> & Pick<FieldDefinition, 'name' | 'type'>;

function field(spec: FieldSpec): FieldDefinition {
  const system = spec.type === 'id';
  return {
    label: spec.name,
    length: 0,
    custom: false,
    externalId: false,
    unique: false,
    caseSensitive: false,
    createable: !system,
    updateable: !system,
    required: false,
    ...spec,
  };
}

function readOnly(spec: FieldSpec): FieldDefinition {
  return field({ ...spec, createable: false, updateable: false });
}

/** Fields every object carries; maintained by the store, never writable. */
/** A lookup (reference) field: an 18-character id of `referenceTo`, queried through `relationshipName`. */
function lookup(
  name: string,
  referenceTo: string,
  relationshipName: string,
  extra: Partial<FieldSpec> = {},
): FieldSpec {
  return { name, type: 'reference', length: 18, referenceTo, relationshipName, ...extra };
}

function auditFields(): FieldDefinition[] {
  return [
    field({ name: 'Id', type: 'id', length: 18, externalId: true, unique: true, caseSensitive: true }),
    readOnly({ name: 'CreatedDate', type: 'datetime' }),
    readOnly({ name: 'LastModifiedDate', type: 'datetime' }),
    readOnly({ name: 'SystemModstamp', type: 'datetime' }),
    readOnly(lookup('CreatedById', 'User', 'CreatedBy')),
    readOnly(lookup('LastModifiedById', 'User', 'LastModifiedBy')),
  ];
}

function standardObjects(): ObjectDefinition[] {
  const opportunity: ObjectDefinition = {
    name: 'Opportunity',
    label: 'Opportunity',
    keyPrefix: KEY_PREFIXES.Opportunity,
    fields: [
      ...auditFields(),
      field({ name: 'Name', type: 'string', length: 120, required: true }),
      field(lookup('AccountId', 'Account', 'Account')),
      field(lookup('OwnerId', 'User', 'Owner')),
      field({ name: 'Amount', type: 'currency', precision: 18, scale: 2 }),
      field({ name: 'CloseDate', type: 'date', required: true }),
      field({
        name: 'StageName',
        type: 'picklist',
        length: 255,
        required: true,
        picklistValues: OPPORTUNITY_STAGES.map((s) => s.name),
        restrictedPicklist: true,
      }),
      field({ name: 'Description', type: 'textarea', length: 32000 }),
      field({
        name: 'CurrencyIsoCode',
        type: 'picklist',
        length: 3,
        picklistValues: CURRENCIES,
        restrictedPicklist: true,
        defaultValue: 'USD',
      }),
      readOnly({ name: 'IsClosed', type: 'boolean' }),
      readOnly({ name: 'IsWon', type: 'boolean' }),
      field({ name: 'NextStep', type: 'string', length: 255 }),
      field({ name: 'Probability', type: 'percent', precision: 3, scale: 0 }),
      field({
        name: 'LeadSource',
        type: 'picklist',
        length: 255,
        picklistValues: ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'],
      }),
      field({
        name: 'Type',
        type: 'picklist',
        length: 255,
        picklistValues: [
          'Existing Customer - Upgrade',
          'Existing Customer - Replacement',
          'Existing Customer - Downgrade',
          'New Customer',
        ],
      }),
    ],
  };
  const account: ObjectDefinition = {
    name: 'Account',
    label: 'Account',
    keyPrefix: KEY_PREFIXES.Account,
    fields: [
      ...auditFields(),
      field({ name: 'Name', type: 'string', length: 255, required: true }),
      field(lookup('OwnerId', 'User', 'Owner')),
      field({ name: 'BillingStreet', type: 'textarea', length: 255 }),
      field({ name: 'BillingCity', type: 'string', length: 40 }),
      field({ name: 'BillingState', type: 'string', length: 80 }),
      field({ name: 'BillingPostalCode', type: 'string', length: 20 }),
      field({ name: 'BillingCountry', type: 'string', length: 80 }),
      field({ name: 'Phone', type: 'phone', length: 40 }),
      field({ name: 'Website', type: 'url', length: 255 }),
    ],
  };
  const contact: ObjectDefinition = {
    name: 'Contact',
    label: 'Contact',
    keyPrefix: KEY_PREFIXES.Contact,
    fields: [
      ...auditFields(),
      field({ name: 'FirstName', type: 'string', length: 40 }),
      field({ name: 'LastName', type: 'string', length: 80, required: true }),
      field({ name: 'Email', type: 'email', length: 80 }),
      field({ name: 'Phone', type: 'phone', length: 40 }),
      field({ name: 'Title', type: 'string', length: 128 }),
      field(lookup('AccountId', 'Account', 'Account')),
      field(lookup('OwnerId', 'User', 'Owner')),
    ],
  };
  const contactRole: ObjectDefinition = {
    name: 'OpportunityContactRole',
    label: 'Opportunity Contact Role',
    keyPrefix: KEY_PREFIXES.OpportunityContactRole,
    fields: [
      ...auditFields(),
      field(lookup('OpportunityId', 'Opportunity', 'Opportunity', { required: true, updateable: false })),
      field(lookup('ContactId', 'Contact', 'Contact', { required: true })),
      field({
        name: 'Role',
        type: 'picklist',
        length: 40,
        picklistValues: [
          'Business User',
          'Decision Maker',
          'Economic Buyer',
          'Economic Decision Maker',
          'Evaluator',
          'Executive Sponsor',
          'Influencer',
          'Technical Buyer',
          'Other',
        ],
      }),
      field({ name: 'IsPrimary', type: 'boolean', defaultValue: false }),
    ],
  };
  const user: ObjectDefinition = {
    name: 'User',
    label: 'User',
    keyPrefix: KEY_PREFIXES.User,
    fields: [
      ...auditFields(),
      field({ name: 'Username', type: 'string', length: 80, required: true, unique: true }),
      field({ name: 'Name', type: 'string', length: 121 }),
      field({ name: 'Email', type: 'email', length: 128 }),
      field({ name: 'IsActive', type: 'boolean', defaultValue: true }),
    ],
  };
  return [opportunity, account, contact, contactRole, user];
}

// ---- force-app custom fields -------------------------------------------------------------------

/** Metadata API field types → REST describe types, for the types the package uses. */
const METADATA_TYPES: Readonly<Record<string, FieldType>> = {
  Text: 'string',
  TextArea: 'textarea',
  LongTextArea: 'textarea',
  Url: 'url',
  Email: 'email',
  Phone: 'phone',
  Picklist: 'picklist',
  Checkbox: 'boolean',
  Currency: 'currency',
  Number: 'double',
  Percent: 'percent',
  Date: 'date',
  DateTime: 'datetime',
};

/** Defaults Salesforce applies when a text-like field's XML has no <length>. */
const DEFAULT_LENGTHS: Partial<Record<FieldType, number>> = {
  url: 255,
  email: 80,
  phone: 40,
  picklist: 255,
  textarea: 255,
};

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function asBoolean(value: unknown): boolean {
  return value === true || value === 'true';
}

/** Parses one `*.field-meta.xml` document into a field definition. Throws naming the file's problem. */
export function parseCustomFieldXml(xml: string, source = 'field XML'): FieldDefinition {
  const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true });
  const doc = parser.parse(xml) as { CustomField?: Record<string, unknown> };
  const cf = doc.CustomField;
  if (!cf || typeof cf.fullName !== 'string') throw new Error(`${source}: not a CustomField with a fullName`);
  const metadataType = String(cf.type ?? '');
  const type = METADATA_TYPES[metadataType];
  if (!type) throw new Error(`${source}: unsupported field type '${metadataType}'`);
  const definition = field({
    name: cf.fullName,
    label: typeof cf.label === 'string' ? cf.label : cf.fullName,
    type,
    custom: true,
    externalId: asBoolean(cf.externalId),
    unique: asBoolean(cf.unique),
    caseSensitive: asBoolean(cf.caseSensitive),
    required: asBoolean(cf.required),
    length: cf.length !== undefined ? Number(cf.length) : (DEFAULT_LENGTHS[type] ?? 0),
  });
  if (type === 'boolean') definition.defaultValue = asBoolean(cf.defaultValue);
  if (type === 'currency' || type === 'double' || type === 'percent') {
    // Salesforce's defaults for a number field created without them: 18 digits, none after the point.
    definition.precision = cf.precision !== undefined ? Number(cf.precision) : 18;
    definition.scale = cf.scale !== undefined ? Number(cf.scale) : 0;
  }
  if (type === 'picklist') {
    const valueSet = (cf.valueSet ?? {}) as {
      restricted?: unknown;
      valueSetDefinition?: { value?: unknown };
    };
    const values = asArray(
      valueSet.valueSetDefinition?.value as
        Array<{ fullName?: unknown }> | { fullName?: unknown } | undefined,
    );
    definition.picklistValues = values.map((v) => String(v.fullName));
    definition.restrictedPicklist = asBoolean(valueSet.restricted);
  }
  return definition;
}

/** Reads every `<dir>/*.field-meta.xml` (force-app/main/default/objects/<Object>/fields). */
export function loadCustomFields(fieldsDir: string): FieldDefinition[] {
  return readdirSync(fieldsDir)
    .filter((name) => name.endsWith('.field-meta.xml'))
    .sort()
    .map((name) => parseCustomFieldXml(readFileSync(join(fieldsDir, name), 'utf8'), name));
}

/** Where this repository keeps the package's Opportunity fields. */
export const DEFAULT_OPPORTUNITY_FIELDS_DIR = new URL(
  '../../../force-app/main/default/objects/Opportunity/fields',
  import.meta.url,
).pathname;

export interface SchemaOptions {
  /** Custom fields by object name; defaults to Opportunity's fields read from force-app. */
  customFields?: Record<string, FieldDefinition[]>;
}

export function createSchemaRegistry(options: SchemaOptions = {}): SchemaRegistry {
  const customFields = options.customFields ?? {
    Opportunity: loadCustomFields(DEFAULT_OPPORTUNITY_FIELDS_DIR),
  };
  const objects = new Map<string, ObjectDefinition>();
  const fieldIndex = new Map<string, Map<string, FieldDefinition>>();
  const relationshipIndex = new Map<string, Map<string, FieldDefinition>>();
  for (const object of standardObjects()) {
    object.fields.push(...(customFields[object.name] ?? []));
    objects.set(object.name.toLowerCase(), object);
    fieldIndex.set(object.name.toLowerCase(), new Map(object.fields.map((f) => [f.name.toLowerCase(), f])));
    relationshipIndex.set(
      object.name.toLowerCase(),
      new Map(
        object.fields.filter((f) => f.relationshipName).map((f) => [f.relationshipName!.toLowerCase(), f]),
      ),
    );
  }
  return {
    object: (name) => objects.get(name.toLowerCase()),
    field: (sobject, name) => fieldIndex.get(sobject.toLowerCase())?.get(name.toLowerCase()),
    relationship: (sobject, relationship) =>
      relationshipIndex.get(sobject.toLowerCase())?.get(relationship.toLowerCase()),
    objects: () => [...objects.values()],
  };
}
