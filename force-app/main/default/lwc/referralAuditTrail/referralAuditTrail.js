import { LightningElement, api } from 'lwc';
import { auditEntries } from 'c/referralService';

export default class ReferralAuditTrail extends LightningElement {
  /** Opportunity.Audit__c as the relay writes it, one entry per line. */
  @api audit;

  get entries() {
    return auditEntries(this.audit);
  }

  get hasEntries() {
    return this.entries.length > 0;
  }
}
