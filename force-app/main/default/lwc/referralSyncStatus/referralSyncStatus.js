import { LightningElement, api } from 'lwc';
import requestSync from '@salesforce/apex/ReferralSyncNowController.requestSync';
import { reduceErrors, syncBadge, SYNC_PENDING } from 'c/referralService';

/**
 * The sync badge and Sync now. Sync now goes through ReferralSyncNowController.requestSync, which
 * marks the record Pending and asks the relay to read both sides again; this component then fires
 * `syncrequested` so the panel re-reads the record and watches for the relay's answer. The button
 * is off while the record already waits for the relay.
 */
export default class ReferralSyncStatus extends LightningElement {
  @api recordId;
  @api syncOn = false;
  @api syncStatus;
  @api audit;

  busy = false;
  syncNowError;

  get badge() {
    return syncBadge({ syncOn: this.syncOn, syncStatus: this.syncStatus, audit: this.audit });
  }

  get syncNowDisabled() {
    return this.busy || this.syncStatus === SYNC_PENDING;
  }

  async handleSyncNow() {
    this.busy = true;
    this.syncNowError = undefined;
    try {
      const status = await requestSync({ opportunityId: this.recordId });
      this.dispatchEvent(new CustomEvent('syncrequested', { detail: { status } }));
    } catch (error) {
      this.syncNowError = `Sync now failed: ${reduceErrors(error).join(', ') || 'unknown error'}`;
    } finally {
      this.busy = false;
    }
  }
}
