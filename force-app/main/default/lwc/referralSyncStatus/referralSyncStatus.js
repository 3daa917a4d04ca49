import { LightningElement, api } from 'lwc';
import { syncBadge } from 'c/referralService';

export default class ReferralSyncStatus extends LightningElement {
  @api syncOn = false;
  @api syncStatus;
  @api audit;

  get badge() {
    return syncBadge({ syncOn: this.syncOn, syncStatus: this.syncStatus, audit: this.audit });
  }
}
