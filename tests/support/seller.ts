import { Connection } from 'jsforce';
import { DEFAULT_SELLER_APP, DEFAULT_SELLER_USER } from '../../relay/sandbox/salesforce/users.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import type { RequestLogEntry } from '../../relay/sandbox/partner-center/index.ts';
import type { SObjectRecord } from '../../relay/sandbox/salesforce/recordStore.ts';
import { waitFor } from './waitFor.ts';

/**
 * A seller working in the sandbox org through the real REST API (password grant, like any
 * Salesforce client), so the sandbox applies the package's trigger rule to every write and
 * publishes Referral_Sync__e exactly as the org would.
 */
export interface Seller {
  connection: Connection;
  createAccount(values?: Record<string, unknown>): Promise<string>;
  /** A valid Opportunity on a new Account; Sync stays off unless `values` turns it on. */
  createOpportunity(values?: Record<string, unknown>, account?: Record<string, unknown>): Promise<string>;
  /** Adds a primary contact role with an email (needed when Microsoft's help is requested). */
  addPrimaryContact(opportunityId: string, accountId: string): Promise<void>;
  update(opportunityId: string, values: Record<string, unknown>): Promise<void>;
  /** One sObject Collections call, as a seller's list-view mass edit would make. */
  updateMany(records: Array<Record<string, unknown> & { Id: string }>): Promise<void>;
}

export async function signInSeller(sandboxes: Sandboxes): Promise<Seller> {
  const url = sandboxes.salesforce.url;
  const connection = new Connection({
    loginUrl: url,
    version: '62.0',
    oauth2: {
      loginUrl: url,
      clientId: DEFAULT_SELLER_APP.clientId,
      clientSecret: DEFAULT_SELLER_APP.clientSecret,
    },
  });
  await connection.login(DEFAULT_SELLER_USER.username, DEFAULT_SELLER_USER.password as string);
  const check = (
    result: { success: boolean; errors?: unknown[] } | Array<{ success: boolean; errors?: unknown[] }>,
  ) => {
    for (const r of Array.isArray(result) ? result : [result]) {
      if (!r.success) throw new Error(`Salesforce refused the seller's write: ${JSON.stringify(r.errors)}`);
    }
  };
  const createAccount = async (values: Record<string, unknown> = {}) => {
    const result = await connection.sobject('Account').create({
      Name: 'Fabrikam Inc',
      BillingStreet: '1 Fabrikam Way',
      BillingCity: 'Seattle',
      BillingState: 'WA',
      BillingPostalCode: '98101',
      BillingCountry: 'US',
      ...values,
    });
    check(result);
    return result.id as string;
  };
  return {
    connection,
    createAccount,
    async createOpportunity(values = {}, account = {}) {
      const accountId = await createAccount(account);
      const result = await connection.sobject('Opportunity').create({
        Name: 'Fabrikam data platform',
        AccountId: accountId,
        Amount: 120000,
        CloseDate: '2026-11-30',
        StageName: 'Qualification',
        Description: 'Migration of the warehouse to Fabric',
        Partner_Center_Solutions__c: 'SOL-34104-EBB',
        ...values,
      });
      check(result);
      return result.id as string;
    },
    async addPrimaryContact(opportunityId, accountId) {
      const contact = await connection.sobject('Contact').create({
        FirstName: 'Dana',
        LastName: 'Buyer',
        Email: 'dana@fabrikam.example',
        Phone: '5550199',
        AccountId: accountId,
      });
      check(contact);
      check(
        await connection.sobject('OpportunityContactRole').create({
          OpportunityId: opportunityId,
          ContactId: contact.id,
          Role: 'Decision Maker',
          IsPrimary: true,
        }),
      );
    },
    async update(opportunityId, values) {
      check(await connection.sobject('Opportunity').update({ Id: opportunityId, ...values }));
    },
    async updateMany(records) {
      check(await connection.sobject('Opportunity').update(records, { allOrNone: true }));
    },
  };
}

/** Partner Center API requests that wrote (POST/PATCH) referrals, optionally for one referral. */
export function referralWrites(sandboxes: Sandboxes, referralId?: string): RequestLogEntry[] {
  return sandboxes.partnerCenter.counters
    .requests()
    .filter(
      (r) =>
        r.route.startsWith('POST /v1.0/engagements/referrals') ||
        r.route.startsWith('PATCH /v1.0/engagements/referrals'),
    )
    .filter((r) => referralId === undefined || r.referralId === referralId.toLowerCase());
}

/** Every write committed to the sandbox org, with who made it (the relay is the integration user). */
export function recordWrites(sandboxes: Sandboxes): {
  all: Array<{ sobject: string; id: string; userId: string; at: number }>;
  stop(): void;
} {
  const all: Array<{ sobject: string; id: string; userId: string; at: number }> = [];
  const stop = sandboxes.salesforce.store.onChange((change) => {
    all.push({
      sobject: change.sobject,
      id: String((change.after as SObjectRecord).Id),
      userId: change.userId,
      at: Date.now(),
    });
  });
  return { all, stop };
}

export function opportunity(sandboxes: Sandboxes, id: string): SObjectRecord {
  const record = sandboxes.salesforce.store.get('Opportunity', id);
  if (!record) throw new Error(`Opportunity ${id} is not in the sandbox org`);
  return record;
}

/** Waits until the Opportunity shows Synced with its referral id; returns the id. */
export async function syncedReferralOf(sandboxes: Sandboxes, opportunityId: string): Promise<string> {
  const record = await waitFor(
    () => {
      const r = opportunity(sandboxes, opportunityId);
      return r.Referral_Sync_Status__c === 'Synced' && typeof r.Referral_Identifier__c === 'string'
        ? r
        : null;
    },
    { message: `Opportunity ${opportunityId} synced` },
  );
  return record.Referral_Identifier__c as string;
}
