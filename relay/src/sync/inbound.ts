/** Partner Center → Salesforce: a referral becomes Opportunity field values plus the customer to resolve. */
import type { Mapping } from './mapping.ts';
import { entriesFor } from './mapping.ts';
import type { Referral } from './referralSchema.ts';
import { readPath } from './referralSchema.ts';
import type { CustomerInfo } from './transforms.ts';
import { getTransform } from './transforms.ts';

export interface InboundValues {
  /** Opportunity field → value, for every `pc-to-sf` and `both` entry (AccountId excepted). */
  fields: Record<string, unknown>;
  /** The referral's customer, which the job matches to an Account (name + postal code) or creates. */
  customer: CustomerInfo | null;
}

export function mapReferralToOpportunity(referral: Referral, mapping: Mapping): InboundValues {
  const fields: Record<string, unknown> = {};
  let customer: CustomerInfo | null = null;
  for (const entry of entriesFor(mapping, 'inbound')) {
    const value = getTransform(entry.transform).toSalesforce(readPath(referral, entry.referral), {
      mapping,
      entry,
      referral,
    });
    // The account entry yields a customer, not a field value: only the job can turn it into an id.
    if (entry.transform === 'account') customer = value as CustomerInfo | null;
    else if (value !== undefined) fields[entry.opportunity] = value;
  }
  return { fields, customer };
}

/** Account field values for a customer, named as the mapping's `customer` block says (for a new Account). */
export function customerToAccountFields(
  customer: CustomerInfo,
  mapping: Mapping,
): Record<string, string | null> {
  const names = mapping.customer;
  return {
    [names.accountName]: customer.name,
    [names.addressLine1]: customer.street,
    [names.city]: customer.city,
    [names.state]: customer.state,
    [names.postalCode]: customer.postalCode,
    [names.country]: customer.country,
  };
}
