/**
 * The mapping's vocabulary: directions, owners, transform names and the shapes of a loaded
 * mapping and of the CRM schema it is checked against. Types and constants only, so the
 * transforms, the stage rules and the mapping loader can all use them without importing each other.
 */
/** inbound: Partner Center → CRM; outbound: CRM → Partner Center; both: each way, `owner` decides a conflict. */
export const DIRECTIONS = ['inbound', 'outbound', 'both'] as const;
/** The directions' names in earlier releases; a mapping that uses them loads, with a notice to rename them. */
export const LEGACY_DIRECTIONS: Readonly<Record<string, (typeof DIRECTIONS)[number]>> = {
  'pc-to-sf': 'inbound',
  'sf-to-pc': 'outbound',
};
export const OWNERS = ['salesforce', 'partnerCenter'] as const;
export const TRANSFORM_NAMES = [
  'text',
  'number',
  'date',
  'datetime',
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
  /**
   * false: Partner Center's later changes of this field are not written to the deal (a per-field
   * pause); the referral's value still goes on a new deal. Default true.
   */
  readonly inboundUpdates?: boolean;
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

/**
 * The value a required Opportunity field takes when the referral gives it none: the value at
 * `from` (a referral path; `addDays` moves a date or datetime on by whole days), else `value`.
 */
export interface FieldDefault {
  readonly from?: string;
  readonly addDays?: number;
  readonly value?: string | number | boolean;
}

export interface Mapping {
  readonly stages: StageNames;
  /** Link to a referral in Partner Center; `{id}` is replaced by the referral id. */
  readonly referralLinkTemplate: string;
  readonly customer: CustomerFields;
  readonly fields: readonly FieldMapping[];
  /** Opportunity field → its default for a referral that leaves it blank. */
  readonly defaults: Readonly<Record<string, FieldDefault>>;
  /**
   * What the relay knows of every Opportunity field it writes (length, precision, picklist,
   * required), so values are fitted before the write: from force-app, or the org's describe.
   */
  readonly targets: Readonly<Record<string, FieldInfo>>;
  /** The rules of the account fields the customer block names (the relay creates accounts too). */
  readonly accountTargets: Readonly<Record<string, FieldInfo>>;
  /** The deal's stage fields, from the schema. */
  readonly stageFields: StageFields;
  /**
   * Longest value, in characters, Partner Center takes at a referral path. The public docs give
   * no lengths (UNCONFIRMED), so none are assumed unless configured here.
   */
  readonly partnerCenterLengths: Readonly<Record<string, number>>;
  /** What the file should say instead of an older name it still uses (logged at start). */
  readonly notices: readonly string[];
}

/** One Opportunity field, as its field-meta XML (or the standard object) defines it. */
export interface FieldInfo {
  readonly name: string;
  /** The metadata type: Text, Currency, Date, Checkbox, Picklist, Lookup, … */
  readonly type: string;
  readonly length?: number;
  readonly picklistValues?: readonly string[];
  readonly restricted?: boolean;
  /** False for fields the API never lets a client write (computed flags, formulas). */
  readonly updateable?: boolean;
  /** Number fields: total digits, and how many of them follow the decimal point. */
  readonly precision?: number;
  readonly scale?: number;
  /** True when a create without a value fails (REQUIRED_FIELD_MISSING). */
  readonly required?: boolean;
}

/**
 * Where a deal keeps its stage: the field the stage transform writes, and the read-only flags the
 * CRM computes from it, which decide won or lost before the stage's name does.
 */
export interface StageFields {
  readonly stage: string;
  readonly won?: string;
  readonly closed?: string;
}

/** The CRM's deal schema the mapping is checked against (force-app offline, the org's describe live). */
export interface OpportunitySchema {
  readonly opportunityFields: ReadonlyMap<string, FieldInfo>;
  readonly stageFields: StageFields;
  /** The account fields the customer block may name, with their rules (the relay creates accounts). */
  readonly accountFields: ReadonlyMap<string, FieldInfo>;
  /** Names of the custom account fields an org may add, which the customer block may name too. */
  readonly customAccountField: RegExp;
}

/** A live describe of the deal's fields: enough to refit values, not to check a mapping. */
export type DescribedFields = Pick<OpportunitySchema, 'opportunityFields'>;
