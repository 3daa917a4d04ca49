import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import respond from '@salesforce/apex/ReferralInboxController.respond';
import {
  awaitsResponse,
  countdown,
  reduceErrors,
  responseDeadline,
  DECLINE_REASONS,
  RESPONSE_ACCEPT,
  RESPONSE_DECLINE,
  RESPONSE_WINDOW_DAYS,
} from 'c/referralService';

// The countdown shows hours, so a minute between redraws is plenty.
export const TICK_MS = 60 * 1000;

/**
 * Shown while Microsoft waits for the seller's answer to an incoming referral (New/Pending or
 * New/Received). Accept and Decline go through ReferralInboxController.respond, which checks
 * Partner Center's status table again; after an answer this component fires `responded` so the
 * panel re-reads the record.
 */
export default class ReferralInbox extends LightningElement {
  @api recordId;
  @api status;
  @api substatus;
  /** When the referral was created (ISO); the 14-day window counts from it. */
  @api createdDate;
  /** Referral_Response__c: Accepted or Declined once the seller answered. */
  @api response;

  now = Date.now();
  declining = false;
  reason = '';
  busy = false;
  timer;

  connectedCallback() {
    this.now = Date.now();
    // eslint-disable-next-line @lwc/lwc/no-async-operation -- the deadline's countdown
    this.timer = setInterval(() => {
      this.now = Date.now();
    }, TICK_MS);
  }

  disconnectedCallback() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get visible() {
    return awaitsResponse(this.status, this.substatus);
  }

  get answered() {
    return this.response === 'Accepted' || this.response === 'Declined';
  }

  get answeredText() {
    return this.response === 'Accepted'
      ? 'You accepted this referral. Partner Center shows it accepted once the relay has sent it.'
      : 'You declined this referral. Partner Center shows it declined once the relay has sent it.';
  }

  get deadline() {
    return responseDeadline(this.createdDate);
  }

  get deadlineIso() {
    return this.deadline?.toISOString();
  }

  get left() {
    return this.deadline ? countdown(this.deadline, new Date(this.now)) : null;
  }

  get countdownText() {
    return this.left ? this.left.text : `Answer within ${RESPONSE_WINDOW_DAYS} days of receipt`;
  }

  get countdownClass() {
    const urgency = this.left?.urgency;
    if (urgency === 'expired') {
      return 'slds-text-color_error';
    }
    return urgency === 'warning' ? 'slds-text-color_error slds-text-title_bold' : 'slds-text-color_default';
  }

  get expired() {
    return this.left?.urgency === 'expired';
  }

  get actionsDisabled() {
    return this.busy || this.expired;
  }

  get confirmDisabled() {
    return this.busy || this.expired || !this.reason;
  }

  get reasonOptions() {
    return DECLINE_REASONS;
  }

  handleAccept() {
    this.send(RESPONSE_ACCEPT, null);
  }

  handleDecline() {
    this.declining = true;
  }

  handleBack() {
    this.declining = false;
    this.reason = '';
  }

  handleReasonChange(event) {
    this.reason = event.detail.value;
  }

  handleConfirmDecline() {
    this.send(RESPONSE_DECLINE, this.reason);
  }

  async send(response, reason) {
    this.busy = true;
    try {
      const asked = await respond({ opportunityId: this.recordId, response, reason });
      this.declining = false;
      this.dispatchEvent(
        new ShowToastEvent({
          title: response === RESPONSE_ACCEPT ? 'Referral accepted' : 'Referral declined',
          message: `Partner Center will show it ${asked} in a few seconds.`,
          variant: 'success',
        }),
      );
      this.dispatchEvent(new CustomEvent('responded', { detail: { response, asked } }));
    } catch (error) {
      this.dispatchEvent(
        new ShowToastEvent({
          title:
            response === RESPONSE_ACCEPT ? 'Could not accept the referral' : 'Could not decline the referral',
          message: reduceErrors(error).join(', ') || 'Unknown error',
          variant: 'error',
          mode: 'sticky',
        }),
      );
    } finally {
      this.busy = false;
    }
  }
}
