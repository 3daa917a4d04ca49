/**
 * The referral resource as far as the mapping needs it: every path a mapping entry may name, its
 * kind, and whether the relay may write it. Source: contracts/partner-center.md §1.6 (schema),
 * §1.6.2 (enums) and §1.4 (create body).
 */

export const REFERRAL_STATUSES = ['None', 'New', 'Active', 'Closed'] as const;
export const REFERRAL_SUBSTATUSES = [
  'None',
  'Pending',
  'Received',
  'Accepted',
  'Won',
  'Lost',
  'Declined',
  'Expired',
] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];
export type ReferralSubstatus = (typeof REFERRAL_SUBSTATUSES)[number];

/** `inviteContext.assistanceRequestCode` (§1.6.2, §4.4); `Unknown` means "no help requested". */
export const ASSISTANCE_REQUEST_CODES = [
  'Unknown',
  'GeneralOrOther',
  'CustomerTechnicalArchitecture',
  'ProofOfConceptOrDemo',
  'QuotesOrLicensing',
  'PostSalesCustomerSuccess',
  'WorkloadSpecificValueProposition',
] as const;

/**
 * How a path's value is compared and written:
 * - `date`: a UTC datetime whose meaning is a calendar day (closingDateTime), compared by day
 * - `solutions`: SolutionTag[] compared as a set of ids
 * - `object` / `array`: containers the mapping may name only through special transforms
 */
export type ReferralKind =
  'string' | 'number' | 'boolean' | 'datetime' | 'date' | 'enum' | 'solutions' | 'object' | 'array';

export interface ReferralPathInfo {
  readonly kind: ReferralKind;
  /** Set by Partner Center; the relay may read it but never write it. */
  readonly readOnly?: boolean;
  readonly values?: readonly string[];
  /** The enum value that means "not set" (`Unknown`, `None`): compared equal to null. */
  readonly unsetValue?: string;
  /** Once true it cannot go back to false (Referral Visibility, §4.3). */
  readonly oneWay?: boolean;
}

const CUSTOMER_SIZES = [
  '1to50employees',
  '51to500employees',
  'Morethan500employees',
  '1to9employees',
  '10to50employees',
  '51to250employees',
  '251to1000employees',
  '1001to5000employees',
  '5001to10000employees',
  '10001to20000employees',
  'Morethan20000employees',
];

export const REFERRAL_PATHS: ReadonlyMap<string, ReferralPathInfo> = new Map<string, ReferralPathInfo>([
  ['id', { kind: 'string', readOnly: true }],
  ['engagementId', { kind: 'string', readOnly: true }],
  ['organizationId', { kind: 'string', readOnly: true }],
  ['organizationName', { kind: 'string', readOnly: true }],
  ['eTag', { kind: 'string', readOnly: true }],
  ['createdDateTime', { kind: 'datetime', readOnly: true }],
  ['updatedDateTime', { kind: 'datetime', readOnly: true }],
  ['expirationDateTime', { kind: 'datetime', readOnly: true }],
  ['acceptedDateTime', { kind: 'datetime', readOnly: true }],
  ['closedDateTime', { kind: 'datetime', readOnly: true }],
  ['direction', { kind: 'enum', readOnly: true, values: ['Incoming', 'Outgoing'] }],
  ['name', { kind: 'string' }],
  ['externalReferenceId', { kind: 'string' }],
  ['status', { kind: 'enum', values: REFERRAL_STATUSES, unsetValue: 'None' }],
  ['substatus', { kind: 'enum', values: REFERRAL_SUBSTATUSES, unsetValue: 'None' }],
  ['statusReason', { kind: 'string' }],
  ['type', { kind: 'enum', values: ['Independent', 'Shared'] }],
  [
    'qualification',
    { kind: 'enum', values: ['None', 'Direct', 'MarketingQualified', 'SalesQualified'], unsetValue: 'None' },
  ],
  ['salesStage', { kind: 'string' }],
  ['campaignId', { kind: 'string' }],
  ['customerProfile', { kind: 'object' }],
  ['customerProfile.name', { kind: 'string' }],
  ['customerProfile.size', { kind: 'enum', values: CUSTOMER_SIZES }],
  ['customerProfile.address', { kind: 'object' }],
  ['customerProfile.address.addressLine1', { kind: 'string' }],
  ['customerProfile.address.addressLine2', { kind: 'string' }],
  ['customerProfile.address.city', { kind: 'string' }],
  ['customerProfile.address.state', { kind: 'string' }],
  ['customerProfile.address.postalCode', { kind: 'string' }],
  ['customerProfile.address.country', { kind: 'string' }],
  ['customerProfile.address.region', { kind: 'string' }],
  ['customerProfile.team', { kind: 'array' }],
  ['consent', { kind: 'object' }],
  ['consent.consentToToShareInfoWithOthers', { kind: 'boolean' }],
  ['consent.consentToContact', { kind: 'boolean' }],
  ['consent.consentToMicrosoftToContactSpecificPartners', { kind: 'boolean' }],
  ['consent.consentToShareReferralWithMicrosoftSellers', { kind: 'boolean', oneWay: true }],
  ['details', { kind: 'object' }],
  ['details.notes', { kind: 'string' }],
  ['details.dealValue', { kind: 'number' }],
  ['details.currency', { kind: 'string' }],
  ['details.closingDateTime', { kind: 'date' }],
  ['details.requirements', { kind: 'object' }],
  ['details.requirements.solutions', { kind: 'solutions' }],
  ['details.requirements.industries', { kind: 'array' }],
  ['details.requirements.products', { kind: 'array' }],
  ['details.requirements.services', { kind: 'array' }],
  ['team', { kind: 'array' }],
  ['target', { kind: 'array' }],
  ['inviteContext', { kind: 'object' }],
  ['inviteContext.notes', { kind: 'string' }],
  [
    'inviteContext.assistanceRequestCode',
    { kind: 'enum', values: ASSISTANCE_REQUEST_CODES, unsetValue: 'Unknown' },
  ],
  ['inviteContext.invitedMpnId', { kind: 'string' }],
  ['inviteContext.invitedBy.organizationId', { kind: 'string', readOnly: true }],
  ['inviteContext.invitedBy.organizationName', { kind: 'string', readOnly: true }],
  ['trackingInfo.microsoftMsxId', { kind: 'string', readOnly: true }],
  ['trackingInfo.microsoftUSFedOpportunityId', { kind: 'string', readOnly: true }],
  ['trackingInfo.microsoftUSFedLeadId', { kind: 'string', readOnly: true }],
]);

export type { Referral, SolutionTag } from './referral.ts';

/** Reads a dotted path (`details.dealValue`) from a referral-shaped object. */
export function readPath(source: unknown, path: string): unknown {
  let node: unknown = source;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Writes a dotted path into a plain object, creating the intermediate objects. */
export function writePath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

/** Turns `{ 'details.dealValue': 1 }` into `{ details: { dealValue: 1 } }`. */
export function nestPaths(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(values)) writePath(result, path, value);
  return result;
}
