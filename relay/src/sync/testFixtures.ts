/** Shared inputs for the sync tests: the repository's own mapping and Opportunity schema, and a referral. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mapping, OpportunitySchema } from './mapping.ts';
import { loadMapping, loadOpportunitySchema } from '../mappingLoader.ts';
import type { Referral } from './referralSchema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAPPING_FILE = path.join(root, 'config', 'mapping.json');
export const FORCE_APP_DIR = path.join(root, 'force-app');

export const defaultMapping: Mapping = await loadMapping(MAPPING_FILE, FORCE_APP_DIR);
export const opportunitySchema: OpportunitySchema = await loadOpportunitySchema(FORCE_APP_DIR);

/** An accepted co-sell referral in the shape of contracts/partner-center.md §1.9 (b). */
export function sampleReferral(overrides: Partial<Referral> = {}): Referral {
  return {
    id: '5dd4dc44-2c1a-4e16-8478-f783ebe815de',
    engagementId: '65921e35-4f28-472f-9ae4-58ddd6ae6270',
    name: 'Contoso migration',
    externalReferenceId: '006000000000001AAA',
    status: 'Active',
    substatus: 'Accepted',
    type: 'Shared',
    eTag: '"8500e212-0000-0100-0000-6225cdc90000"',
    createdDateTime: '2026-01-15T09:30:00.1234567Z',
    customerProfile: {
      name: 'Contoso Ltd',
      size: '',
      address: {
        addressLine1: 'Lake hills',
        addressLine2: '',
        city: 'Bellevue',
        state: null,
        postalCode: '98004',
        country: 'US',
        region: 'WA',
      },
      team: [],
    },
    consent: {
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
      consentToShareReferralWithMicrosoftSellers: true,
    },
    details: {
      notes: 'Needs a landing zone',
      dealValue: 30000,
      currency: 'USD',
      closingDateTime: '2026-03-24T18:30:00Z',
      requirements: {
        solutions: [{ id: 'SOL-6115380-IPC', name: 'Landing Zone', type: 'Name', publisherName: 'Fabrikam' }],
      },
    },
    inviteContext: { notes: '', assistanceRequestCode: 'ProofOfConceptOrDemo' },
    trackingInfo: { microsoftMsxId: '7-ABCDEF' },
    ...overrides,
  };
}

/** The Opportunity that corresponds to sampleReferral after an inbound sync. */
export function sampleOpportunity(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Id: '006000000000001AAA',
    Name: 'Contoso migration',
    Amount: 30000,
    CurrencyIsoCode: 'USD',
    CloseDate: '2026-03-24',
    Description: 'Needs a landing zone',
    StageName: 'Qualification',
    IsClosed: false,
    IsWon: false,
    How_can_Microsoft_help__c: 'ProofOfConceptOrDemo',
    Partner_Center_Solutions__c: 'SOL-6115380-IPC',
    Referral_Visibility__c: true,
    Referral_Identifier__c: '5dd4dc44-2c1a-4e16-8478-f783ebe815de',
    Referral_Status__c: 'Active',
    Referral_Substatus__c: 'Accepted',
    Microsoft_CRM_Identifier__c: '7-ABCDEF',
    Referral_Created_Date__c: '2026-01-15T09:30:00.123+0000',
    ...overrides,
  };
}
