import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, updateRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';

import OPPORTUNITY_OBJECT from '@salesforce/schema/Opportunity';
import SYNC_FIELD from '@salesforce/schema/Opportunity.Sync_with_Partner_Center__c';
import HELP_FIELD from '@salesforce/schema/Opportunity.How_can_Microsoft_help__c';
import SOLUTIONS_FIELD from '@salesforce/schema/Opportunity.Partner_Center_Solutions__c';
import VISIBILITY_FIELD from '@salesforce/schema/Opportunity.Referral_Visibility__c';
import IDENTIFIER_FIELD from '@salesforce/schema/Opportunity.Referral_Identifier__c';
import LINK_FIELD from '@salesforce/schema/Opportunity.Referral_Link__c';
import STATUS_FIELD from '@salesforce/schema/Opportunity.Referral_Status__c';
import SUBSTATUS_FIELD from '@salesforce/schema/Opportunity.Referral_Substatus__c';
import SYNC_STATUS_FIELD from '@salesforce/schema/Opportunity.Referral_Sync_Status__c';
import AUDIT_FIELD from '@salesforce/schema/Opportunity.Audit__c';
import CREATED_FIELD from '@salesforce/schema/Opportunity.CreatedDate';
import REFERRAL_CREATED_FIELD from '@salesforce/schema/Opportunity.Referral_Created_Date__c';
import RESPONSE_FIELD from '@salesforce/schema/Opportunity.Referral_Response__c';

import { awaitsResponse, reduceErrors, SYNC_PENDING } from 'c/referralService';

const FIELDS = [
  SYNC_FIELD,
  HELP_FIELD,
  SOLUTIONS_FIELD,
  VISIBILITY_FIELD,
  IDENTIFIER_FIELD,
  LINK_FIELD,
  STATUS_FIELD,
  SUBSTATUS_FIELD,
  SYNC_STATUS_FIELD,
  AUDIT_FIELD,
  CREATED_FIELD,
  REFERRAL_CREATED_FIELD,
  RESPONSE_FIELD,
];

/*
 * How the panel notices the relay's write-back without a page reload: it re-reads the record
 * through Lightning Data Service while the record shows Pending, and only then.
 *
 * Every re-read is a User Interface API read as the seller, so the record's sharing and the
 * seller's field-level security apply to it as to the record page itself: the panel learns
 * nothing the seller could not open. No streaming channel is involved. A platform event ignores
 * sharing and field-level security (any subscriber gets every message), which is why sellers get
 * no read access to Referral_Sync__e, whose snapshot carries the record's data; Change Data
 * Capture would need View All on Opportunity and streams every change in the org.
 *
 * The trigger marks a save it publishes Pending, so the record itself says when to watch: a
 * Pending record starts a watch when the panel loads it or Lightning Data Service hands it a newer
 * copy (after this panel's save or an edit on the same record page); an edit by someone else shows
 * on the next reload. A watch asks for a fresh copy (notifyRecordUpdateAvailable) after
 * FIRST_REFRESH_MS, then after twice the last delay, at most MAX_REFRESH_MS apart and
 * MAX_REFRESHES times, and ends as soon as the record shows the relay's answer (Synced or Error)
 * or the panel is removed. The relay usually answers within a second, so the first re-read mostly
 * finds the answer; the backoff keeps a relay outage from turning every open panel into a steady
 * poll. After the last re-read (three and a half minutes in) the badge stays Pending; a reload or
 * the next save starts a new watch.
 */
export const FIRST_REFRESH_MS = 2000;
export const MAX_REFRESH_MS = 30000;
export const MAX_REFRESHES = 10;

/** Delay before re-read number `attempt` (0-based) of one watch. */
export function refreshDelay(attempt) {
  return Math.min(FIRST_REFRESH_MS * 2 ** attempt, MAX_REFRESH_MS);
}

const EDITABLE = [
  ['sync', SYNC_FIELD],
  ['visibility', VISIBILITY_FIELD],
  ['help', HELP_FIELD],
  ['solutions', SOLUTIONS_FIELD],
];

/**
 * The seller's view of an Opportunity's Partner Center referral. It reads the record through
 * Lightning Data Service, keeps the seller's draft and saves it, and watches a Pending sync; the
 * children (referralSyncStatus, referralInbox, referralSummary, referralSettings,
 * referralAuditTrail) show what it hands them, and the inbox sends the seller's answer itself.
 */
export default class ReferralPanel extends LightningElement {
  @api recordId;

  record;
  loadError;
  objectInfo;
  helpValues = [];
  draft = {};
  isDirty = false;
  isSaving = false;

  watch = null;
  refreshTimer;
  lastAutoWatchKey;
  connected = false;

  @wire(getRecord, { recordId: '$recordId', fields: FIELDS })
  wiredRecord({ data, error }) {
    if (data) {
      this.record = data;
      this.loadError = undefined;
      if (!this.isDirty) {
        this.resetDraft();
      }
      this.trackSyncProgress();
    } else if (error) {
      this.loadError = reduceErrors(error).join(', ') || 'The referral could not be loaded.';
    }
  }

  @wire(getObjectInfo, { objectApiName: OPPORTUNITY_OBJECT })
  wiredObjectInfo({ data }) {
    if (data) {
      this.objectInfo = data;
    }
  }

  @wire(getPicklistValues, { recordTypeId: '$recordTypeId', fieldApiName: HELP_FIELD })
  wiredHelpValues({ data }) {
    if (data) {
      this.helpValues = data.values.map((entry) => ({ label: entry.label, value: entry.value }));
    }
  }

  connectedCallback() {
    this.connected = true;
  }

  disconnectedCallback() {
    this.connected = false;
    this.stopWatching();
  }

  // ----- what the children show

  get recordTypeId() {
    return this.record?.recordTypeId ?? this.objectInfo?.defaultRecordTypeId;
  }

  get isLoading() {
    return !this.record && !this.loadError;
  }

  get syncOn() {
    return getFieldValue(this.record, SYNC_FIELD) === true;
  }

  get syncStatus() {
    return getFieldValue(this.record, SYNC_STATUS_FIELD);
  }

  get audit() {
    return getFieldValue(this.record, AUDIT_FIELD);
  }

  get referralId() {
    return getFieldValue(this.record, IDENTIFIER_FIELD);
  }

  get referralLink() {
    return getFieldValue(this.record, LINK_FIELD);
  }

  get referralStatus() {
    return getFieldValue(this.record, STATUS_FIELD);
  }

  get referralSubstatus() {
    return getFieldValue(this.record, SUBSTATUS_FIELD);
  }

  get awaitsResponse() {
    return this.syncOn && awaitsResponse(this.referralStatus, this.referralSubstatus);
  }

  /** The referral's creation in Partner Center, or the Opportunity's until the relay has written it. */
  get referralCreated() {
    return getFieldValue(this.record, REFERRAL_CREATED_FIELD) ?? getFieldValue(this.record, CREATED_FIELD);
  }

  get referralResponse() {
    return getFieldValue(this.record, RESPONSE_FIELD);
  }

  get editable() {
    const editable = {};
    for (const [key, field] of EDITABLE) {
      editable[key] = this.isUpdateable(field);
    }
    return editable;
  }

  // ----- handlers

  handleDraftChange(event) {
    const { name, value } = event.detail;
    this.draft = { ...this.draft, [name]: value };
    this.isDirty = Object.keys(this.changedFields()).length > 0;
  }

  handleCancel() {
    this.resetDraft();
  }

  handleResponded() {
    // The answer's save marked the record Pending; reading it again starts the usual watch.
    notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
  }

  handleSyncRequested() {
    // Sync now marked the record Pending: re-read it and watch for the relay's answer.
    notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
    this.startWatching();
  }

  async handleSave() {
    const fields = this.changedFields();
    if (Object.keys(fields).length === 0) {
      this.resetDraft();
      return;
    }
    fields.Id = this.recordId;
    this.isSaving = true;
    try {
      await updateRecord({ fields });
      this.isDirty = false;
      this.dispatchEvent(
        new ShowToastEvent({
          title: 'Referral saved',
          message: this.draft.sync
            ? 'Partner Center will be updated in a few seconds.'
            : 'The opportunity is not synced with Partner Center.',
          variant: 'success',
        }),
      );
      if (this.draft.sync) {
        this.startWatching();
      }
    } catch (error) {
      this.dispatchEvent(
        new ShowToastEvent({
          title: 'Could not save the referral',
          message: reduceErrors(error).join(', ') || 'Unknown error',
          variant: 'error',
          mode: 'sticky',
        }),
      );
    } finally {
      this.isSaving = false;
    }
  }

  // ----- editing

  isUpdateable(field) {
    const info = this.objectInfo?.fields?.[field.fieldApiName];
    return info?.updateable === true;
  }

  savedValues() {
    return {
      sync: getFieldValue(this.record, SYNC_FIELD) === true,
      visibility: getFieldValue(this.record, VISIBILITY_FIELD) === true,
      help: getFieldValue(this.record, HELP_FIELD) ?? '',
      solutions: getFieldValue(this.record, SOLUTIONS_FIELD) ?? '',
    };
  }

  resetDraft() {
    this.draft = this.savedValues();
    this.isDirty = false;
  }

  changedFields() {
    const saved = this.savedValues();
    const fields = {};
    for (const [key, field] of EDITABLE) {
      if (this.draft[key] !== saved[key] && this.isUpdateable(field)) {
        const value = this.draft[key];
        fields[field.fieldApiName] = value === '' ? null : value;
      }
    }
    return fields;
  }

  // ----- live refresh (see the comment at FIRST_REFRESH_MS)

  get awaitingRelay() {
    return this.syncOn && this.syncStatus === SYNC_PENDING;
  }

  trackSyncProgress() {
    if (!this.awaitingRelay) {
      this.stopWatching();
      return;
    }
    if (this.watch) {
      return;
    }
    // Lightning Data Service hands the wire a record again only when it changed; the key keeps a
    // watch that ran out from restarting on the same unanswered state.
    const key = `${this.syncStatus}|${this.auditHead()}`;
    if (key !== this.lastAutoWatchKey) {
      this.lastAutoWatchKey = key;
      this.startWatching();
    }
  }

  auditHead() {
    const text = getFieldValue(this.record, AUDIT_FIELD) ?? '';
    return text.split(/\r?\n/, 1)[0];
  }

  startWatching() {
    this.stopWatching();
    this.watch = { refreshes: 0 };
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation -- bounded re-read of a sync in flight
    this.refreshTimer = setTimeout(() => this.refreshFromServer(), refreshDelay(this.watch.refreshes));
  }

  refreshFromServer() {
    this.refreshTimer = undefined;
    if (!this.watch || !this.connected) {
      return;
    }
    // A save that published nothing leaves the last answer in place; there is nothing to wait for.
    if (!this.awaitingRelay) {
      this.stopWatching();
      return;
    }
    this.watch.refreshes += 1;
    notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
    if (this.watch.refreshes < MAX_REFRESHES) {
      this.scheduleRefresh();
    } else {
      this.stopWatching();
    }
  }

  stopWatching() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.watch = null;
  }
}
