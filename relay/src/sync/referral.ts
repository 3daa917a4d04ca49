/**
 * The Partner Center referral resource (contract §1.6): the one referral type of the relay, used
 * by the sync core, the jobs and the referrals client alike. Every field is optional because real
 * payloads omit or null fields the docs list, and the API adds fields over time; the index
 * signatures keep unknown fields (they round-trip untouched). Enum-like fields are `string` with
 * the documented values as hints: an unexpected value must not fail a sync.
 */

type Known<T extends string> = T | (string & {});

export type ReferralStatus = Known<'None' | 'New' | 'Active' | 'Closed'>;
export type ReferralSubstatus = Known<
  'None' | 'Pending' | 'Received' | 'Accepted' | 'Won' | 'Lost' | 'Declined' | 'Expired'
>;
export type ReferralType = Known<'Independent' | 'Shared'>;
export type ReferralQualification = Known<'None' | 'Direct' | 'MarketingQualified' | 'SalesQualified'>;
export type ReferralDirection = Known<'Incoming' | 'Outgoing'>;

export interface Extensible {
  [extra: string]: unknown;
}

export interface ReferralAddress extends Extensible {
  addressLine1?: string | null;
  addressLine2?: string | null;
  city?: string | null;
  state?: string | null;
  postalCode?: string | null;
  /** ISO 3166 alpha-2; mandatory when sharing with Microsoft. */
  country?: string | null;
  region?: string | null;
}

export interface ReferralMember extends Extensible {
  firstName?: string | null;
  lastName?: string | null;
  phoneNumber?: string | null;
  email?: string | null;
  title?: string | null;
  contactPreference?: ({ locale?: string | null; disableNotifications?: boolean | null } & Extensible) | null;
}

export interface CustomerProfile extends Extensible {
  name?: string | null;
  address?: ReferralAddress | null;
  size?: string | null;
  team?: ReferralMember[] | null;
  ids?: ({ profileType?: Known<'Duns' | 'External'>; id?: string } & Extensible)[] | null;
  isMatchingComplete?: boolean | null;
}

export interface ReferralConsent extends Extensible {
  /** The double "To" is the API's spelling. */
  consentToToShareInfoWithOthers?: boolean | null;
  consentToContact?: boolean | null;
  consentToShareReferralWithMicrosoftSellers?: boolean | null;
  consentToMicrosoftToContactSpecificPartners?: boolean | null;
}

export interface ReferralTag extends Extensible {
  id?: string;
}

export interface SolutionTag extends Extensible {
  id?: string;
  name?: string | null;
  type?: Known<'None' | 'Category' | 'Name'> | null;
  solutionType?: string | null;
  publisherName?: string | null;
  price?: number | null;
  quantity?: number | null;
  currency?: string | null;
  closingDateTime?: string | null;
}

export interface ReferralRequirements extends Extensible {
  industries?: ReferralTag[] | null;
  products?: ReferralTag[] | null;
  services?: ReferralTag[] | null;
  solutions?: SolutionTag[] | null;
  offers?: unknown[] | null;
  salesPlays?: unknown[] | null;
  additionalRequirements?:
    | ({
        iot?: Extensible | null;
        attributes?: ({ type?: string; id?: string } & Extensible)[] | null;
      } & Extensible)
    | null;
}

export interface ReferralDetails extends Extensible {
  notes?: string | null;
  /** A decimal; the docs' PATCH example sends it as a string. */
  dealValue?: number | string | null;
  /** ISO 4217 */
  currency?: string | null;
  closingDateTime?: string | null;
  requirements?: ReferralRequirements | null;
  customerRequestedContact?: unknown;
  customerAction?: unknown;
  incentiveLevel?: unknown;
}

export interface ReferralTarget extends Extensible {
  type?: Known<'None' | 'SolutionProfile' | 'BusinessProfileLocation'>;
  id?: string;
}

export interface InviteContext extends Extensible {
  notes?: string | null;
  invitedBy?: ({ organizationId?: string | null; organizationName?: string | null } & Extensible) | null;
  assistanceRequestCode?: Known<
    | 'Unknown'
    | 'GeneralOrOther'
    | 'CustomerTechnicalArchitecture'
    | 'ProofOfConceptOrDemo'
    | 'QuotesOrLicensing'
    | 'PostSalesCustomerSuccess'
    | 'WorkloadSpecificValueProposition'
  > | null;
  invitedMpnId?: string | null;
}

export interface ReferralLink extends Extensible {
  uri?: string;
  method?: string;
}

export interface Referral extends Extensible {
  id?: string;
  engagementId?: string;
  name?: string | null;
  organizationId?: string | null;
  organizationName?: string | null;
  externalReferenceId?: string | null;
  createdDateTime?: string;
  updatedDateTime?: string;
  expirationDateTime?: string | null;
  acceptedDateTime?: string | null;
  closedDateTime?: string | null;
  status?: ReferralStatus;
  substatus?: ReferralSubstatus;
  statusReason?: string | null;
  type?: ReferralType;
  qualification?: ReferralQualification;
  referralSource?: string | null;
  callToAction?: string | null;
  customerMarketplaceIntent?: string | null;
  customerProfile?: CustomerProfile | null;
  consent?: ReferralConsent | null;
  details?: ReferralDetails | null;
  team?: ReferralMember[] | null;
  inviteContext?: InviteContext | null;
  /** Quoted string (`"\"00006d10-…\""`); sent verbatim in If-Match. */
  eTag?: string;
  target?: ReferralTarget[] | null;
  links?: ({ relatedReferrals?: ReferralLink; self?: ReferralLink } & Extensible) | null;
  direction?: ReferralDirection;
  salesStage?: string | null;
  campaignId?: string | null;
  favorite?: boolean | null;
  quality?: string | null;
  isSpam?: boolean | null;
  mpnId?: string | null;
  referralProgram?: string | null;
  dealSensitivity?: string | null;
  createdVia?: string | null;
  lastModifiedVia?: string | null;
  lastRunId?: string | null;
  tags?: string[] | null;
  registrationStatus?: string | null;
  registrations?: Extensible[] | null;
  trackingInfo?: Extensible | null;
}

/** A JSON Patch operation; Partner Center supports only `replace` and `add` (contract §1.2). */
export interface ReferralPatchOperation {
  op: 'replace' | 'add';
  path: string;
  value: unknown;
}
