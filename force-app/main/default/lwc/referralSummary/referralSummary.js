import { LightningElement, api } from 'lwc';

export default class ReferralSummary extends LightningElement {
  @api referralId;
  @api referralLink;
  @api status;
  @api substatus;

  get statusText() {
    return [this.status, this.substatus].filter((value) => !!value).join(' · ');
  }
}
