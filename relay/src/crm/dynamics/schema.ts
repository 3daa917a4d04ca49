/**
 * The relay's own columns on the Dataverse opportunity table, as code (contract §1): schema names
 * under a configurable publisher prefix (default `csync_`), metadata bodies for the Web API, the
 * alternate key on the Referral Identifier, and the columns a webhook Update step filters on.
 * Pure: no I/O. The labels and choices follow the Salesforce package's Opportunity fields.
 */

export type DynamicsColumnType = 'Boolean' | 'String' | 'Memo' | 'Picklist';

export interface DynamicsColumn {
  /** The relay's name for the column, stable across prefixes. */
  role:
    | 'syncWithPartnerCenter'
    | 'referralIdentifier'
    | 'referralLink'
    | 'howCanMicrosoftHelp'
    | 'solutions'
    | 'referralStatus'
    | 'referralSubstatus'
    | 'syncStatus'
    | 'microsoftCrmId'
    | 'visibility'
    | 'audit';
  schemaName: string;
  logicalName: string;
  label: string;
  description: string;
  type: DynamicsColumnType;
  maxLength?: number;
  /** StringAttributeMetadata FormatName (Url for links). */
  format?: 'Text' | 'Url';
  /** Choice labels and their integer values (publisher option-value prefix × 10 000 + n). */
  options?: Array<{ label: string; value: number }>;
  /** Written only by the relay: kept out of filteringattributes so its own writes raise no webhook. */
  relayOwned: boolean;
}

export interface DynamicsSchema {
  /** The publisher's customization prefix without the underscore, e.g. `csync`. */
  prefix: string;
  optionValuePrefix: number;
  columns: DynamicsColumn[];
  key: { schemaName: string; logicalName: string; attributes: string[] };
  /** Standard opportunity columns the mapping reads, whose seller edits must reach Partner Center. */
  mappedStandardColumns: string[];
  /** The Update step's filteringattributes: mapped standard columns and seller-edited relay columns. */
  filteringAttributes: string[];
  column(role: DynamicsColumn['role']): DynamicsColumn;
}

export interface DynamicsSchemaOptions {
  /** `csync_` or `csync`: 2–8 lowercase letters or digits, starting with a letter, not `mscrm`. */
  prefix?: string;
  /** The publisher's option-value prefix, 10000–99999. */
  optionValuePrefix?: number;
  mappedStandardColumns?: string[];
}

export const DEFAULT_MAPPED_STANDARD_COLUMNS = [
  'name',
  'estimatedvalue',
  'estimatedclosedate',
  'description',
  'salesstage',
];

/** Validates a publisher prefix as Dataverse does, returning it without the trailing underscore. */
export function normalizePrefix(prefix: string): string {
  const bare = prefix.endsWith('_') ? prefix.slice(0, -1) : prefix;
  if (!/^[a-z][a-z0-9]{1,7}$/.test(bare))
    throw new Error(
      `The Dynamics publisher prefix "${prefix}" must be 2 to 8 lowercase letters or digits starting with a letter`,
    );
  if (bare.startsWith('mscrm'))
    throw new Error(`The Dynamics publisher prefix "${prefix}" cannot start with mscrm (reserved)`);
  return bare;
}

type Seed = Omit<DynamicsColumn, 'schemaName' | 'logicalName' | 'options'> & {
  name: string;
  choices?: string[];
};

const SEEDS: Seed[] = [
  {
    role: 'syncWithPartnerCenter',
    name: 'SyncWithPartnerCenter',
    label: 'Sync with Partner Center',
    description: 'Share this opportunity with Microsoft as a co-sell referral.',
    type: 'Boolean',
    relayOwned: false,
  },
  {
    role: 'referralIdentifier',
    name: 'ReferralIdentifier',
    label: 'Referral Identifier',
    description: 'The Partner Center referral id. Written by the relay.',
    type: 'String',
    maxLength: 100,
    format: 'Text',
    relayOwned: true,
  },
  {
    role: 'referralLink',
    name: 'ReferralLink',
    label: 'Referral Link',
    description: 'Link to the referral in Partner Center. Written by the relay.',
    type: 'String',
    maxLength: 500,
    format: 'Url',
    relayOwned: true,
  },
  {
    role: 'howCanMicrosoftHelp',
    name: 'HowCanMicrosoftHelp',
    label: 'How can Microsoft help?',
    description: 'What the partner asks of Microsoft for this deal.',
    type: 'Picklist',
    choices: [
      'WorkloadSpecificValueProposition',
      'CustomerTechnicalArchitecture',
      'ProofOfConceptOrDemo',
      'QuotesOrLicensing',
      'PostSalesCustomerSuccess',
      'GeneralOrOther',
    ],
    relayOwned: false,
  },
  {
    role: 'solutions',
    name: 'Solutions',
    label: 'Solutions',
    description: 'Partner Center solution ids, separated by semicolons.',
    type: 'String',
    maxLength: 255,
    format: 'Text',
    relayOwned: false,
  },
  {
    role: 'referralStatus',
    name: 'ReferralStatus',
    label: 'Referral Status',
    description: 'Status of the referral in Partner Center. Written by the relay.',
    type: 'Picklist',
    choices: ['New', 'Active', 'Closed'],
    relayOwned: true,
  },
  {
    role: 'referralSubstatus',
    name: 'ReferralSubstatus',
    label: 'Referral Substatus',
    description: 'Substatus of the referral in Partner Center. Written by the relay.',
    type: 'Picklist',
    choices: ['Pending', 'Received', 'Accepted', 'Won', 'Lost', 'Declined', 'Expired'],
    relayOwned: true,
  },
  {
    role: 'syncStatus',
    name: 'SyncStatus',
    label: 'Sync Status',
    description: 'Outcome of the last sync with Partner Center. Written by the relay.',
    type: 'Picklist',
    choices: ['Pending', 'Synced', 'Error'],
    relayOwned: true,
  },
  {
    role: 'microsoftCrmId',
    name: 'MicrosoftCrmId',
    label: 'Microsoft CRM id',
    description: "Microsoft's own id for the engagement. Written by the relay.",
    type: 'String',
    maxLength: 100,
    format: 'Text',
    relayOwned: true,
  },
  {
    role: 'visibility',
    name: 'Visibility',
    label: 'Visibility',
    description: 'Whether Microsoft may share the partner contact with the customer.',
    type: 'Boolean',
    relayOwned: false,
  },
  {
    role: 'audit',
    name: 'Audit',
    label: 'Audit',
    description: 'Sync history with Partner Center. Written by the relay.',
    type: 'Memo',
    maxLength: 1_048_576,
    relayOwned: true,
  },
];

export function dynamicsSchema(options: DynamicsSchemaOptions = {}): DynamicsSchema {
  const prefix = normalizePrefix(options.prefix ?? 'csync_');
  const optionValuePrefix = options.optionValuePrefix ?? 10501;
  if (!Number.isInteger(optionValuePrefix) || optionValuePrefix < 10000 || optionValuePrefix > 99999)
    throw new Error(
      `The Dynamics option-value prefix ${optionValuePrefix} must be an integer from 10000 to 99999`,
    );
  const columns: DynamicsColumn[] = SEEDS.map(({ name, choices, ...seed }) => {
    const schemaName = `${prefix}_${name}`;
    return {
      ...seed,
      schemaName,
      logicalName: schemaName.toLowerCase(),
      ...(choices
        ? { options: choices.map((label, i) => ({ label, value: optionValuePrefix * 10_000 + i })) }
        : {}),
    };
  });
  const byRole = new Map(columns.map((c) => [c.role, c]));
  const identifier = byRole.get('referralIdentifier')!;
  const mappedStandardColumns = options.mappedStandardColumns ?? DEFAULT_MAPPED_STANDARD_COLUMNS;
  return {
    prefix,
    optionValuePrefix,
    columns,
    key: {
      schemaName: `${prefix}_ReferralIdentifierKey`,
      logicalName: `${prefix}_referralidentifierkey`,
      attributes: [identifier.logicalName],
    },
    mappedStandardColumns,
    filteringAttributes: [
      ...mappedStandardColumns,
      ...columns.filter((c) => !c.relayOwned).map((c) => c.logicalName),
    ],
    column(role) {
      return byRole.get(role)!;
    },
  };
}

const label = (text: string) => ({
  '@odata.type': 'Microsoft.Dynamics.CRM.Label',
  LocalizedLabels: [
    { '@odata.type': 'Microsoft.Dynamics.CRM.LocalizedLabel', Label: text, LanguageCode: 1033 },
  ],
});

/** The body of `POST EntityDefinitions(LogicalName='opportunity')/Attributes` for a column. */
export function attributeMetadata(column: DynamicsColumn): Record<string, unknown> {
  const common = {
    SchemaName: column.schemaName,
    DisplayName: label(column.label),
    Description: label(column.description),
    RequiredLevel: {
      Value: 'None',
      CanBeChanged: true,
      ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
    },
  };
  switch (column.type) {
    case 'Boolean':
      return {
        '@odata.type': 'Microsoft.Dynamics.CRM.BooleanAttributeMetadata',
        ...common,
        DefaultValue: false,
        OptionSet: {
          '@odata.type': 'Microsoft.Dynamics.CRM.BooleanOptionSetMetadata',
          TrueOption: { Value: 1, Label: label('Yes') },
          FalseOption: { Value: 0, Label: label('No') },
          OptionSetType: 'Boolean',
        },
      };
    case 'String':
      return {
        '@odata.type': 'Microsoft.Dynamics.CRM.StringAttributeMetadata',
        ...common,
        MaxLength: column.maxLength,
        FormatName: { Value: column.format ?? 'Text' },
      };
    case 'Memo':
      return {
        '@odata.type': 'Microsoft.Dynamics.CRM.MemoAttributeMetadata',
        ...common,
        MaxLength: column.maxLength,
        Format: 'TextArea',
      };
    case 'Picklist':
      return {
        '@odata.type': 'Microsoft.Dynamics.CRM.PicklistAttributeMetadata',
        ...common,
        OptionSet: {
          '@odata.type': 'Microsoft.Dynamics.CRM.OptionSetMetadata',
          IsGlobal: false,
          OptionSetType: 'Picklist',
          Options: (column.options ?? []).map((o) => ({ Value: o.value, Label: label(o.label) })),
        },
      };
  }
}
