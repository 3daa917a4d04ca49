/**
 * Names the Salesforce package defines that the relay's configuration and checks use before any
 * connection exists (config.ts, the doctor command). The Opportunity's own fields are in adapter.ts.
 */

/** The platform event the package's trigger publishes for each synced save. */
export const DEFAULT_EVENT_TOPIC = '/event/Referral_Sync__e';
/** The event field naming the Opportunity saved. */
export const EVENT_RECORD_ID_FIELD = 'Opportunity_Id__c';

/** Custom fields (the package's among them) end in `__c`. */
export function isCustomField(name: string): boolean {
  return name.endsWith('__c');
}
