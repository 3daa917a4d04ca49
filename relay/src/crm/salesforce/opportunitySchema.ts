/**
 * The Opportunity schema the mapping is checked against: the package's custom fields (parsed from
 * their field-meta XML) plus the standard fields a mapping may name. Pure: relay/src/mappingLoader.ts
 * reads the files.
 */
import { XMLParser } from 'fast-xml-parser';
import { ConfigError } from '../../errors.ts';
import type { FieldInfo, OpportunitySchema } from '../../sync/mappingTypes.ts';

/**
 * Standard Opportunity fields (Salesforce Object Reference). StageName's and CurrencyIsoCode's
 * values are defined per org, so they carry no value list and are not checked.
 */
export const STANDARD_OPPORTUNITY_FIELDS: readonly FieldInfo[] = [
  { name: 'Id', type: 'Id', updateable: false },
  { name: 'Name', type: 'Text', length: 120, required: true },
  { name: 'Amount', type: 'Currency', precision: 18, scale: 2 },
  { name: 'CurrencyIsoCode', type: 'Picklist', length: 3 },
  { name: 'CloseDate', type: 'Date', required: true },
  { name: 'Description', type: 'LongTextArea', length: 32000 },
  { name: 'StageName', type: 'Picklist', length: 255, required: true },
  { name: 'Probability', type: 'Percent', precision: 3, scale: 0 },
  { name: 'NextStep', type: 'Text', length: 255 },
  { name: 'Type', type: 'Picklist' },
  { name: 'LeadSource', type: 'Picklist' },
  { name: 'AccountId', type: 'Lookup' },
  { name: 'OwnerId', type: 'Lookup' },
  { name: 'IsClosed', type: 'Checkbox', updateable: false },
  { name: 'IsWon', type: 'Checkbox', updateable: false },
  { name: 'LastModifiedDate', type: 'DateTime', updateable: false },
];

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  // A one-value picklist must still come back as a list.
  isArray: (name) => name === 'value',
});

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** One `<CustomField>` document → FieldInfo; `source` names the file in errors. */
export function parseFieldMetadata(xml: string, source: string): FieldInfo {
  let document: unknown;
  try {
    document = parser.parse(xml, true);
  } catch (error) {
    throw new ConfigError('MAPPING_INVALID', [`${source}: not well-formed XML`], { cause: error });
  }
  const field = (document as { CustomField?: Record<string, unknown> }).CustomField;
  const name = text(field?.fullName);
  const type = text(field?.type);
  if (field === undefined || name === undefined || type === undefined) {
    throw new ConfigError('MAPPING_INVALID', [`${source}: a CustomField needs fullName and type`]);
  }
  const valueSet = field.valueSet as
    { restricted?: unknown; valueSetDefinition?: { value?: unknown[] } } | undefined;
  const picklistValues = valueSet?.valueSetDefinition?.value
    ?.map((value) => text((value as { fullName?: unknown }).fullName))
    .filter((value) => value !== undefined);
  const length = Number(text(field.length));
  const precision = Number(text(field.precision));
  const scale = Number(text(field.scale));
  return {
    name,
    type,
    ...(Number.isInteger(length) && length > 0 ? { length } : {}),
    ...(Number.isInteger(precision) && precision > 0 ? { precision } : {}),
    ...(Number.isInteger(scale) && scale >= 0 && text(field.scale) !== undefined ? { scale } : {}),
    ...(text(field.required) === 'true' ? { required: true } : {}),
    ...(picklistValues === undefined
      ? {}
      : { picklistValues, restricted: text(valueSet?.restricted) === 'true' }),
    // Formula and roll-up fields are computed by Salesforce.
    ...(field.formula !== undefined || type === 'Summary' ? { updateable: false } : {}),
  };
}

/**
 * Account fields the customer block may name, with their standard lengths (Salesforce Object
 * Reference): the relay creates Accounts too, and Salesforce refuses a city longer than 40.
 */
export const STANDARD_ACCOUNT_FIELDS: ReadonlyMap<string, FieldInfo> = new Map(
  (
    [
      ['Name', 255],
      ['BillingStreet', 255],
      ['BillingCity', 40],
      ['BillingState', 80],
      ['BillingPostalCode', 20],
      ['BillingCountry', 80],
      ['ShippingStreet', 255],
      ['ShippingCity', 40],
      ['ShippingState', 80],
      ['ShippingPostalCode', 20],
      ['ShippingCountry', 80],
    ] as const
  )
    .map(([name, length]): [string, FieldInfo] => [
      name,
      { name, type: name.endsWith('Street') ? 'TextArea' : 'Text', length },
    ])
    // State and country picklists (when the org enables them): their values are the org's own.
    .concat(
      ['BillingStateCode', 'BillingCountryCode', 'ShippingStateCode', 'ShippingCountryCode'].map((name) => [
        name,
        { name, type: 'Picklist' },
      ]),
    ),
);

/**
 * The Opportunity's schema for the mapping: the standard fields overlaid with the custom ones (a
 * custom definition wins on a name clash), StageName with its IsWon / IsClosed flags, and the
 * Account's address fields (custom Account fields end in `__c`).
 */
export function buildOpportunitySchema(customFields: readonly FieldInfo[]): OpportunitySchema {
  const opportunityFields = new Map<string, FieldInfo>();
  for (const field of [...STANDARD_OPPORTUNITY_FIELDS, ...customFields])
    opportunityFields.set(field.name, field);
  return {
    opportunityFields,
    stageFields: { stage: 'StageName', won: 'IsWon', closed: 'IsClosed' },
    accountFields: STANDARD_ACCOUNT_FIELDS,
    customAccountField: /__c$/,
  };
}
