/**
 * The tables of the Dataverse sandbox and their columns. Business tables (opportunity, account,
 * contact, lead) are strict: a write or `$select` naming a column that does not exist fails as in
 * Dataverse, so the relay's own columns exist only once the metadata Web API created them. System
 * tables (service endpoints, steps, solutions, …) are permissive: the sandbox keeps what it is given.
 */

export type ColumnType =
  | 'String'
  | 'Memo'
  | 'Boolean'
  | 'Picklist'
  | 'State'
  | 'Status'
  | 'Integer'
  | 'Decimal'
  | 'Money'
  | 'DateTime'
  | 'Lookup'
  | 'Uniqueidentifier';

export interface ColumnDefinition {
  logicalName: string;
  schemaName: string;
  type: ColumnType;
  metadataId: string;
  custom: boolean;
  maxLength?: number;
  /** Allowed integer values of a choice column. */
  options?: number[];
  dateOnly?: boolean;
  /** Target tables of a lookup (stored as `_<name>_value`). */
  targets?: string[];
  /** The metadata body the column was created with (custom columns), answered by GET …/Attributes. */
  definition?: Record<string, unknown>;
  readOnly?: boolean;
}

export type KeyIndexStatus = 'Pending' | 'InProgress' | 'Active' | 'Failed';

export interface KeyDefinition {
  logicalName: string;
  schemaName: string;
  keyAttributes: string[];
  metadataId: string;
  status: KeyIndexStatus;
  displayName?: unknown;
}

export interface TableDefinition {
  logicalName: string;
  entitySet: string;
  primaryId: string;
  primaryName: string;
  objectTypeCode: number;
  metadataId: string;
  strict: boolean;
  changeTrackingEnabled: boolean;
  columns: Map<string, ColumnDefinition>;
  keys: Map<string, KeyDefinition>;
}

type Seed = [name: string, type: ColumnType, extra?: Partial<ColumnDefinition>];

const COMMON: Seed[] = [
  ['createdon', 'DateTime', { readOnly: true }],
  ['modifiedon', 'DateTime', { readOnly: true }],
  ['versionnumber', 'Integer', { readOnly: true }],
  ['createdby', 'Lookup', { targets: ['systemuser'], readOnly: true }],
  ['modifiedby', 'Lookup', { targets: ['systemuser'], readOnly: true }],
  ['ownerid', 'Lookup', { targets: ['systemuser'] }],
  ['statecode', 'State', { options: [0, 1] }],
  ['statuscode', 'Status', { options: [1, 2] }],
];

const BUSINESS: Record<string, { set: string; name: string; code: number; columns: Seed[] }> = {
  opportunity: {
    set: 'opportunities',
    name: 'name',
    code: 3,
    columns: [
      ['name', 'String', { maxLength: 300 }],
      ['description', 'Memo', { maxLength: 2000 }],
      ['estimatedvalue', 'Money'],
      ['estimatedvalue_base', 'Money', { readOnly: true }],
      ['estimatedclosedate', 'DateTime', { dateOnly: true }],
      ['actualvalue', 'Money'],
      ['actualclosedate', 'DateTime', { dateOnly: true }],
      ['closeprobability', 'Integer'],
      ['salesstage', 'Picklist', { options: [0, 1, 2, 3] }],
      ['stepname', 'String', { maxLength: 200 }],
      ['parentaccountid', 'Lookup', { targets: ['account'] }],
      ['parentcontactid', 'Lookup', { targets: ['contact'] }],
      ['customerid', 'Lookup', { targets: ['account', 'contact'] }],
      ['originatingleadid', 'Lookup', { targets: ['lead'] }],
      ['transactioncurrencyid', 'Lookup', { targets: ['transactioncurrency'] }],
      // statecode 0 Open, 1 Won, 2 Lost; statuscode 1 In Progress, 2 On Hold, 3 Won, 4 Canceled, 5 Out-Sold.
      ['statecode', 'State', { options: [0, 1, 2] }],
      ['statuscode', 'Status', { options: [1, 2, 3, 4, 5] }],
    ],
  },
  account: {
    set: 'accounts',
    name: 'name',
    code: 1,
    columns: [
      ['name', 'String', { maxLength: 160 }],
      ['accountnumber', 'String', { maxLength: 20 }],
      ['websiteurl', 'String', { maxLength: 200 }],
      ['telephone1', 'String', { maxLength: 50 }],
      ['address1_line1', 'String', { maxLength: 250 }],
      ['address1_city', 'String', { maxLength: 80 }],
      ['address1_stateorprovince', 'String', { maxLength: 50 }],
      ['address1_postalcode', 'String', { maxLength: 20 }],
      ['address1_country', 'String', { maxLength: 80 }],
      ['primarycontactid', 'Lookup', { targets: ['contact'] }],
      ['description', 'Memo', { maxLength: 2000 }],
    ],
  },
  contact: {
    set: 'contacts',
    name: 'fullname',
    code: 2,
    columns: [
      ['firstname', 'String', { maxLength: 50 }],
      ['lastname', 'String', { maxLength: 50 }],
      ['fullname', 'String', { maxLength: 160, readOnly: true }],
      ['emailaddress1', 'String', { maxLength: 100 }],
      ['telephone1', 'String', { maxLength: 50 }],
      ['jobtitle', 'String', { maxLength: 100 }],
      ['parentcustomerid', 'Lookup', { targets: ['account', 'contact'] }],
    ],
  },
  lead: {
    set: 'leads',
    name: 'fullname',
    code: 4,
    columns: [
      ['subject', 'String', { maxLength: 300 }],
      ['firstname', 'String', { maxLength: 50 }],
      ['lastname', 'String', { maxLength: 50 }],
      ['fullname', 'String', { maxLength: 160, readOnly: true }],
      ['companyname', 'String', { maxLength: 100 }],
      ['emailaddress1', 'String', { maxLength: 100 }],
      ['description', 'Memo', { maxLength: 2000 }],
      ['statecode', 'State', { options: [0, 1, 2] }],
      ['statuscode', 'Status', { options: [1, 2, 3, 4, 5, 6, 7] }],
    ],
  },
};

/** System tables the installer and the webhook machinery use; their rows are kept as given. */
const SYSTEM: Record<string, { set: string; name: string; code: number }> = {
  systemuser: { set: 'systemusers', name: 'fullname', code: 8 },
  transactioncurrency: { set: 'transactioncurrencies', name: 'currencyname', code: 9105 },
  opportunityclose: { set: 'opportunitycloses', name: 'subject', code: 4208 },
  serviceendpoint: { set: 'serviceendpoints', name: 'name', code: 4618 },
  sdkmessage: { set: 'sdkmessages', name: 'name', code: 4606 },
  sdkmessagefilter: { set: 'sdkmessagefilters', name: 'name', code: 4607 },
  sdkmessageprocessingstep: { set: 'sdkmessageprocessingsteps', name: 'name', code: 4608 },
  solution: { set: 'solutions', name: 'friendlyname', code: 7100 },
  publisher: { set: 'publishers', name: 'friendlyname', code: 7101 },
  solutioncomponent: { set: 'solutioncomponents', name: 'objectid', code: 7103 },
  asyncoperation: { set: 'asyncoperations', name: 'name', code: 4700 },
};

/** Navigation properties whose lookup column has another name (polymorphic lookups). */
export const NAVIGATION_ALIASES: Record<string, string> = {
  customerid_account: 'customerid',
  customerid_contact: 'customerid',
  parentcustomerid_account: 'parentcustomerid',
  parentcustomerid_contact: 'parentcustomerid',
  eventhandler_serviceendpoint: 'eventhandler',
  eventhandler_plugintype: 'eventhandler',
  regardingobjectid_opportunity: 'regardingobjectid',
};

export function createTables(newId: () => string): Map<string, TableDefinition> {
  const tables = new Map<string, TableDefinition>();
  const column = ([name, type, extra]: Seed): ColumnDefinition => ({
    logicalName: name,
    schemaName: name,
    type,
    metadataId: newId(),
    custom: false,
    ...extra,
  });
  for (const [logicalName, spec] of Object.entries(BUSINESS)) {
    const primaryId = `${logicalName}id`;
    const columns = new Map<string, ColumnDefinition>();
    for (const seed of [...COMMON, ...spec.columns]) columns.set(seed[0], column(seed));
    columns.set(primaryId, column([primaryId, 'Uniqueidentifier']));
    tables.set(logicalName, {
      logicalName,
      entitySet: spec.set,
      primaryId,
      primaryName: spec.name,
      objectTypeCode: spec.code,
      metadataId: newId(),
      strict: true,
      changeTrackingEnabled: false,
      columns,
      keys: new Map(),
    });
  }
  for (const [logicalName, spec] of Object.entries(SYSTEM)) {
    tables.set(logicalName, {
      logicalName,
      entitySet: spec.set,
      primaryId: `${logicalName}id`,
      primaryName: spec.name,
      objectTypeCode: spec.code,
      metadataId: newId(),
      strict: false,
      changeTrackingEnabled: false,
      columns: new Map(),
      keys: new Map(),
    });
  }
  return tables;
}

/** Types an alternate key may include (contract §1). */
export const KEY_COLUMN_TYPES: ReadonlySet<ColumnType> = new Set([
  'String',
  'Integer',
  'Decimal',
  'DateTime',
  'Lookup',
  'Picklist',
]);

/** Maps a metadata `@odata.type` (with or without the namespace and leading #) to a column type. */
export function columnTypeOf(odataType: unknown): ColumnType | undefined {
  if (typeof odataType !== 'string') return undefined;
  const name = odataType.replace(/^#?(Microsoft\.Dynamics\.CRM\.)?/, '').replace(/AttributeMetadata$/, '');
  const map: Record<string, ColumnType> = {
    String: 'String',
    Memo: 'Memo',
    Boolean: 'Boolean',
    Picklist: 'Picklist',
    Integer: 'Integer',
    Decimal: 'Decimal',
    Money: 'Money',
    DateTime: 'DateTime',
  };
  return map[name];
}
