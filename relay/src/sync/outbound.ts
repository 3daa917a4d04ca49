/**
 * Salesforce → Partner Center: an Opportunity (with its Account and primary contact) becomes
 * referral values by path, create bodies, and the reasons it cannot be created yet.
 */
import { RelayError } from '../errors.ts';
import { canonicalSalesforceValue, sameValue } from './canonical.ts';
import { isIsoCountryCode } from './countryCodes.ts';
import type { FitNote } from './fit.ts';
import { fitReferralValue } from './fit.ts';
import type { InboundValues } from './inbound.ts';
import { mapReferralToOpportunity } from './inbound.ts';
import type { FieldMapping, Mapping } from './mapping.ts';
import { entriesFor } from './mapping.ts';
import { nestPaths, REFERRAL_PATHS } from './referralSchema.ts';
import type { Referral, SolutionTag } from './referralSchema.ts';
import type { StatusPair } from './stage.ts';
import { blankToNull, getTransform, splitSolutionIds } from './transforms.ts';

export interface ContactInfo {
  firstName?: string | null;
  lastName?: string | null;
  email?: string | null;
  phone?: string | null;
}

/** What the outbound job reads from Salesforce for one Opportunity. */
export interface OpportunityView {
  /** Field API name → value; includes the id and the CRM's won and closed flags. */
  opportunity: Readonly<Record<string, unknown>>;
  /** The Account's fields, by the API names the mapping's `customer` block uses. */
  account?: Readonly<Record<string, unknown>> | null;
  /** The primary contact role's contact. */
  primaryContact?: ContactInfo | null;
}

/** Referral values by dotted path, e.g. `{ 'details.dealValue': 2000, status: 'Active' }`. */
export type ReferralValues = Record<string, unknown>;

const SOLUTIONS_PATH = 'details.requirements.solutions';
const HELP_PATH = 'inviteContext.assistanceRequestCode';
const DEAL_VALUE_PATH = 'details.dealValue';
const CONSENT_PATH = 'consent.consentToShareReferralWithMicrosoftSellers';

/** Co-sell-ready ids look like SOL-34104-EBB (legacy: SOL-Microsoft365); Microsoft's own are GUIDs (§1.7). */
const SOLUTION_ID = /^(SOL(-[A-Za-z0-9]+)+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

function entryAt(mapping: Mapping, referralPath: string): FieldMapping | undefined {
  return entriesFor(mapping, 'outbound').find((entry) => entry.referral === referralPath);
}

/** The values every `outbound` and `both` entry asks of the referral; the stage adds status and substatus. */
export function mapOpportunityToReferral(view: OpportunityView, mapping: Mapping): ReferralValues {
  const values: ReferralValues = {};
  for (const entry of entriesFor(mapping, 'outbound')) {
    const value = getTransform(entry.transform).toPartnerCenter(view.opportunity[entry.opportunity], {
      mapping,
      entry,
      opportunity: view.opportunity,
    });
    if (entry.transform === 'stage') {
      // null means "no status change" (still on hold): leave status out rather than ask for New.
      if (value !== null) {
        values.status = (value as StatusPair).status;
        values.substatus = (value as StatusPair).substatus;
      }
    } else if (value !== undefined) {
      values[entry.referral] = value;
    }
  }
  return values;
}

export interface FittedReferralValues {
  values: ReferralValues;
  notes: FitNote[];
  /** Values Partner Center cannot take, naming the path; empty when all can be sent. */
  problems: string[];
}

/** Referral values fitted to the referral schema (enums, currency, deal value, configured lengths). */
export function fitReferralValues(values: ReferralValues, mapping: Mapping): FittedReferralValues {
  const fitted: ReferralValues = {};
  const notes: FitNote[] = [];
  const problems: string[] = [];
  for (const [path, value] of Object.entries(values)) {
    const result = fitReferralValue(path, value, mapping.partnerCenterLengths[path]);
    fitted[path] = result.value;
    notes.push(...result.notes);
    problems.push(...result.problems);
  }
  return { values: fitted, notes, problems };
}

/**
 * `desired` without the values the Opportunity holds only because the relay wrote them for the
 * referral as it is now: a name the field truncated, a close date the mapping defaulted, an amount
 * rounded to the field's scale. Sending those back would replace Partner Center's own value with
 * the relay's stand-in, as if the seller had chosen it. Anything the seller changed differs from
 * what the relay writes and is kept.
 */
export function withoutInboundEchoes(
  desired: ReferralValues,
  opportunity: Readonly<Record<string, unknown>>,
  referral: Referral,
  mapping: Mapping,
): ReferralValues {
  let inbound: InboundValues;
  try {
    inbound = mapReferralToOpportunity(referral, mapping);
  } catch {
    // A referral the relay could not write to Salesforce has no stand-in values to filter.
    return desired;
  }
  const result: ReferralValues = { ...desired };
  for (const entry of mapping.fields) {
    if (entry.direction !== 'both') continue;
    const written = Object.hasOwn(inbound.fields, entry.opportunity)
      ? inbound.fields[entry.opportunity]
      : inbound.createOnly[entry.opportunity];
    if (written === undefined) continue;
    const held = canonicalSalesforceValue(entry, opportunity[entry.opportunity], opportunity, mapping);
    const stand = canonicalSalesforceValue(entry, written, { [entry.opportunity]: written }, mapping);
    if (!sameValue(held, stand)) continue;
    if (entry.transform === 'stage') {
      delete result.status;
      delete result.substatus;
    } else delete result[entry.referral];
  }
  return result;
}

/**
 * `desired` without the fields Salesforce has not changed since the last sync (`lastSynced`, the
 * canonical values both sides last agreed on). Those hold no seller's choice to send; Partner
 * Center may have moved on meanwhile, and the inbound sync brings that over. Without this, an
 * outbound run after an inbound write that Salesforce refused (say by a validation rule) would
 * send the Opportunity's older values back over Partner Center's newer ones.
 */
export function withoutUnchangedSinceSync(
  desired: ReferralValues,
  opportunity: Readonly<Record<string, unknown>>,
  lastSynced: Readonly<Record<string, unknown>> | null | undefined,
  mapping: Mapping,
): ReferralValues {
  if (lastSynced === null || lastSynced === undefined) return desired;
  const result: ReferralValues = { ...desired };
  for (const entry of entriesFor(mapping, 'outbound')) {
    if (!Object.hasOwn(lastSynced, entry.name)) continue;
    const now = canonicalSalesforceValue(entry, opportunity[entry.opportunity], opportunity, mapping);
    if (!sameValue(now, lastSynced[entry.name])) continue;
    if (entry.transform === 'stage') {
      delete result.status;
      delete result.substatus;
    } else delete result[entry.referral];
  }
  return result;
}

function helpRequested(view: OpportunityView, mapping: Mapping): FieldMapping | null {
  const entry = entryAt(mapping, HELP_PATH);
  return entry !== undefined && blankToNull(view.opportunity[entry.opportunity]) !== null ? entry : null;
}

function trimmed(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/**
 * Why Partner Center would refuse this Opportunity as a new referral (§1.4, §4.6), each reason
 * naming the Salesforce field to fix. Empty when it can be created.
 */
export function validateForCreate(
  view: OpportunityView,
  mapping: Mapping,
  options: {
    /** The partner's solution ids (PARTNER_SOLUTION_IDS); absent: any well-formed id is accepted. */
    knownSolutions?: ReadonlySet<string>;
  } = {},
): string[] {
  const reasons: string[] = [];
  const { customer } = mapping;
  const account = view.account ?? null;
  if (account === null) {
    reasons.push(
      "The Opportunity has no Account: Partner Center needs the customer's name and country from it",
    );
  } else {
    if (trimmed(account[customer.accountName]) === null) {
      reasons.push(`Account ${customer.accountName} is empty: Partner Center needs the customer's name`);
    }
    const country = account[customer.country];
    if (trimmed(country) === null) {
      reasons.push(
        `Account ${customer.country} is empty: Partner Center needs the customer's ISO 3166 two-letter country code`,
      );
    } else if (!isIsoCountryCode(country)) {
      reasons.push(
        `Account ${customer.country} "${String(country)}" is not an ISO 3166 two-letter country code (for example US, DE)`,
      );
    }
  }

  const solutions = entryAt(mapping, SOLUTIONS_PATH);
  if (solutions !== undefined) {
    const ids = splitSolutionIds(view.opportunity[solutions.opportunity]);
    if (ids.length === 0) {
      reasons.push(
        `${solutions.opportunity} is empty: add at least one co-sell ready or Microsoft solution id (for example SOL-34104-EBB)`,
      );
    }
    for (const id of ids.filter((id) => !SOLUTION_ID.test(id))) {
      reasons.push(
        `${solutions.opportunity}: "${id}" is not a solution id (expected SOL-12345-ABC or a GUID)`,
      );
    }
    const known = options.knownSolutions;
    if (known && known.size > 0) {
      const upper = new Set([...known].map((id) => id.toUpperCase()));
      for (const id of ids.filter((id) => SOLUTION_ID.test(id) && !upper.has(id.toUpperCase())))
        reasons.push(
          `${solutions.opportunity}: "${id}" is not one of this partner's solutions (${[...known].join(', ')})`,
        );
    }
  }

  const help = helpRequested(view, mapping);
  if (help !== null && trimmed(view.primaryContact?.email) === null) {
    reasons.push(
      `${help.opportunity} asks for Microsoft's help, which needs a customer contact: add a primary contact role with an email address`,
    );
  }

  const dealValue = entryAt(mapping, DEAL_VALUE_PATH);
  if (dealValue !== undefined) {
    const amount = blankToNull(view.opportunity[dealValue.opportunity]);
    if (amount !== null && !(Number(amount) >= 0)) {
      reasons.push(
        `${dealValue.opportunity} is ${String(amount)}: the deal value must be a number, 0 or more`,
      );
    }
  }
  return reasons;
}

export interface ReferralTarget {
  type: 'SolutionProfile' | 'BusinessProfileLocation';
  id: string;
}

export interface ReferralCreateBody {
  name?: string;
  externalReferenceId: string;
  type: 'Independent' | 'Shared';
  qualification: 'SalesQualified';
  /** Set only on the "for Microsoft" body of a co-sell pair, from the first response (see withEngagementId). */
  engagementId?: string;
  customerProfile: {
    name: string;
    address: Record<string, string>;
    team: Array<{ firstName?: string; lastName?: string; email?: string; phoneNumber?: string }>;
  };
  consent: Record<string, unknown>;
  details: Record<string, unknown>;
  inviteContext?: Record<string, unknown>;
  target: ReferralTarget[];
  [key: string]: unknown;
}

function compact<T extends Record<string, unknown>>(
  record: T,
): { [K in keyof T]: Exclude<T[K], null | undefined> } {
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== null && value !== undefined),
  ) as {
    [K in keyof T]: Exclude<T[K], null | undefined>;
  };
}

function customerProfile(view: OpportunityView, mapping: Mapping): ReferralCreateBody['customerProfile'] {
  const account = view.account ?? {};
  const names = mapping.customer;
  // The street field holds both address lines, separated by a newline (as the inbound side writes it).
  const [line1, ...rest] = (trimmed(account[names.addressLine1]) ?? '').split(/\r?\n/);
  const contact = view.primaryContact;
  return {
    name: trimmed(account[names.accountName]) ?? '',
    address: compact({
      addressLine1: trimmed(line1),
      addressLine2: trimmed(rest.join(' ')),
      city: trimmed(account[names.city]),
      state: trimmed(account[names.state]),
      postalCode: trimmed(account[names.postalCode]),
      country: trimmed(account[names.country])?.toUpperCase(),
    }),
    team:
      contact === null || contact === undefined || trimmed(contact.email) === null
        ? []
        : [
            compact({
              firstName: trimmed(contact.firstName),
              lastName: trimmed(contact.lastName),
              email: trimmed(contact.email),
              phoneNumber: trimmed(contact.phone),
            }),
          ],
  };
}

/**
 * The POST bodies that create this Opportunity's referral. Without a help request: one
 * Independent body. With one, the co-sell flow of §1.4: a Shared body targeting the first
 * solution, then a Shared "for Microsoft" body targeting `msft`, which must be sent with the first
 * response's engagementId (withEngagementId). Status is left out: Partner Center places created
 * deals in Active/Accepted (§1.9 a); a closed Opportunity follows with an ordinary PATCH.
 * Throws VALIDATION_FAILED with the validateForCreate reasons when it cannot be created.
 */
export function buildCreateRequests(view: OpportunityView, mapping: Mapping): ReferralCreateBody[] {
  const reasons = validateForCreate(view, mapping);
  if (reasons.length > 0) {
    throw new RelayError('VALIDATION_FAILED', `Opportunity cannot become a referral: ${reasons.join('; ')}`, {
      details: { reasons },
    });
  }
  const opportunityId = trimmed(view.opportunity.Id);
  if (opportunityId === null) throw new RelayError('VALIDATION_FAILED', 'Opportunity Id is missing');

  const fitted = fitReferralValues(mapOpportunityToReferral(view, mapping), mapping);
  if (fitted.problems.length > 0) {
    throw new RelayError(
      'VALIDATION_FAILED',
      `Opportunity cannot become a referral: ${fitted.problems.join('; ')}`,
      { details: { reasons: fitted.problems } },
    );
  }
  const values = fitted.values;
  delete values.status;
  delete values.substatus;
  for (const [path, value] of Object.entries(values)) {
    const unset = REFERRAL_PATHS.get(path)?.unsetValue;
    if (value === null || (unset !== undefined && value === unset)) delete values[path];
  }
  const help = helpRequested(view, mapping);
  // "When Microsoft help is required, the referral is visible to Microsoft sellers by default" (§4.3).
  // Consent is required on create, so it is sent even when the mapping does not map it.
  values[CONSENT_PATH] = help !== null || values[CONSENT_PATH] === true;
  const mapped = nestPaths(values);

  const base: ReferralCreateBody = {
    ...mapped,
    externalReferenceId: opportunityId,
    type: 'Independent',
    qualification: 'SalesQualified',
    customerProfile: customerProfile(view, mapping),
    consent: (mapped.consent as Record<string, unknown> | undefined) ?? {},
    details: (mapped.details as Record<string, unknown> | undefined) ?? {},
    target: [],
  };
  if (help === null) return [base];

  // validateForCreate refused a create without a solution id, so the first one is there.
  const solution = ((values[SOLUTIONS_PATH] as SolutionTag[] | undefined) ?? [])[0]?.id ?? '';
  return [
    { ...base, type: 'Shared', target: [{ type: 'SolutionProfile', id: solution }] },
    {
      ...base,
      type: 'Shared',
      target: [{ type: 'BusinessProfileLocation', id: 'msft' }],
      inviteContext: { ...base.inviteContext, assistanceRequestCode: values[HELP_PATH] },
    },
  ];
}

/** The "for Microsoft" body completed with the engagementId of the first referral's create response. */
export function withEngagementId(body: ReferralCreateBody, engagementId: string): ReferralCreateBody {
  if (engagementId.trim() === '') {
    throw new RelayError('VALIDATION_FAILED', 'the first co-sell referral came back without an engagementId');
  }
  return { ...body, engagementId };
}
