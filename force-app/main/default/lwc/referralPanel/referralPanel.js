import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, updateRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import { subscribe, unsubscribe, onError, isEmpEnabled } from 'lightning/empApi';

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
import SYNC_EVENT from '@salesforce/schema/Referral_Sync__e';
import EVENT_OPPORTUNITY_ID_FIELD from '@salesforce/schema/Referral_Sync__e.Opportunity_Id__c';

import { parseAuditTrail, newestError } from './auditTrail';
import { reduceErrors } from './reduceErrors';

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
];

/*
 * How the panel notices the relay's write-back without a page reload.
 *
 * The relay writes as the integration user, whose saves publish no Referral_Sync__e, so listening
 * to that event alone never sees the result. Change Data Capture (/data/OpportunityChangeEvent)
 * would, but a CDC subscriber needs View All on Opportunity (sellers rarely have it), the org
 * must select Opportunity for CDC (a limited number of entities), and every Opportunity change in
 * the org would be streamed to every open panel.
 *
 * Instead a sync in flight is watched: it starts when this panel saves with sync on, when a
 * Referral_Sync__e for this record arrives (another tab or user edited it; the relay will write
 * back within seconds), or when the record shows Pending. While watching, the panel asks Lightning
 * Data Service to refetch the record from the server (notifyRecordUpdateAvailable) every
 * POLL_INTERVAL_MS, at most POLL_LIMIT times, and stops as soon as the record shows the relay's
 * answer: a new audit line or a sync status other than Pending. One minute covers the relay's
 * retry budget for a single Partner Center call; past it the record keeps showing Pending and a
 * later event or save starts a new watch.
 */
export const POLL_INTERVAL_MS = 3000;
export const POLL_LIMIT = 20;

const STATUS_SYNCED = 'Synced';
const STATUS_ERROR = 'Error';
const STATUS_PENDING = 'Pending';

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
  subscription;
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
    this.subscribeToSyncEvents();
  }

  disconnectedCallback() {
    this.connected = false;
    this.stopWatching();
    if (this.subscription) {
      unsubscribe(this.subscription, () => {});
      this.subscription = undefined;
    }
  }

  // ----- derived state for the template

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

  get auditEntries() {
    return parseAuditTrail(getFieldValue(this.record, AUDIT_FIELD)).map((entry) => ({
      ...entry,
      levelClass: `slds-badge ${entry.level === 'ERROR' ? 'slds-theme_error' : 'slds-badge_lightest'}`,
    }));
  }

  get hasAudit() {
    return this.auditEntries.length > 0;
  }

  get status() {
    const syncStatus = this.syncStatus;
    if (!this.syncOn) {
      return { label: 'Not synced', className: 'slds-badge_lightest', reason: null };
    }
    if (syncStatus === STATUS_SYNCED) {
      return { label: '✔ Synced', className: 'slds-theme_success', reason: null };
    }
    if (syncStatus === STATUS_ERROR) {
      const error = newestError(parseAuditTrail(getFieldValue(this.record, AUDIT_FIELD)));
      return {
        label: '✘ Error',
        className: 'slds-theme_error',
        reason: error ? error.message : 'Partner Center rejected the last change.',
      };
    }
    return { label: 'Pending', className: 'slds-theme_warning', reason: null };
  }

  get statusBadgeClass() {
    return this.status.className;
  }

  get referralId() {
    return getFieldValue(this.record, IDENTIFIER_FIELD);
  }

  get referralLink() {
    return getFieldValue(this.record, LINK_FIELD);
  }

  get referralStatus() {
    const status = getFieldValue(this.record, STATUS_FIELD);
    const substatus = getFieldValue(this.record, SUBSTATUS_FIELD);
    return [status, substatus].filter((value) => !!value).join(' · ');
  }

  get canEditSync() {
    return this.isUpdateable(SYNC_FIELD);
  }

  get canEditHelp() {
    return this.isUpdateable(HELP_FIELD);
  }

  get canEditSolutions() {
    return this.isUpdateable(SOLUTIONS_FIELD);
  }

  get canEditVisibility() {
    return this.isUpdateable(VISIBILITY_FIELD);
  }

  get syncReadOnly() {
    return !this.canEditSync;
  }

  get visibilityReadOnly() {
    return !this.canEditVisibility;
  }

  get canEditAny() {
    return this.canEditSync || this.canEditHelp || this.canEditSolutions || this.canEditVisibility;
  }

  get helpOptions() {
    return [{ label: '--None--', value: '' }, ...this.helpValues];
  }

  get helpLabel() {
    const value = getFieldValue(this.record, HELP_FIELD);
    const option = this.helpValues.find((entry) => entry.value === value);
    return option ? option.label : value || 'None';
  }

  get solutionsText() {
    return getFieldValue(this.record, SOLUTIONS_FIELD) || 'None';
  }

  get saveDisabled() {
    return !this.isDirty || this.isSaving;
  }

  get cancelDisabled() {
    return !this.isDirty || this.isSaving;
  }

  // ----- handlers

  handleSyncChange(event) {
    this.updateDraft('sync', event.target.checked);
  }

  handleVisibilityChange(event) {
    this.updateDraft('visibility', event.target.checked);
  }

  handleHelpChange(event) {
    this.updateDraft('help', event.detail.value);
  }

  handleSolutionsChange(event) {
    this.updateDraft('solutions', event.detail.value);
  }

  handleCancel() {
    this.resetDraft();
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

  resetDraft() {
    this.draft = {
      sync: getFieldValue(this.record, SYNC_FIELD) === true,
      visibility: getFieldValue(this.record, VISIBILITY_FIELD) === true,
      help: getFieldValue(this.record, HELP_FIELD) ?? '',
      solutions: getFieldValue(this.record, SOLUTIONS_FIELD) ?? '',
    };
    this.isDirty = false;
  }

  updateDraft(key, value) {
    this.draft = { ...this.draft, [key]: value };
    this.isDirty = Object.keys(this.changedFields()).length > 0;
  }

  changedFields() {
    const saved = {
      sync: getFieldValue(this.record, SYNC_FIELD) === true,
      visibility: getFieldValue(this.record, VISIBILITY_FIELD) === true,
      help: getFieldValue(this.record, HELP_FIELD) ?? '',
      solutions: getFieldValue(this.record, SOLUTIONS_FIELD) ?? '',
    };
    const pairs = [
      ['sync', SYNC_FIELD],
      ['visibility', VISIBILITY_FIELD],
      ['help', HELP_FIELD],
      ['solutions', SOLUTIONS_FIELD],
    ];
    const fields = {};
    for (const [key, field] of pairs) {
      if (this.draft[key] !== saved[key] && this.isUpdateable(field)) {
        const value = this.draft[key];
        fields[field.fieldApiName] = value === '' ? null : value;
      }
    }
    return fields;
  }

  // ----- live refresh (see the comment at POLL_INTERVAL_MS)

  async subscribeToSyncEvents() {
    try {
      const enabled = await isEmpEnabled();
      if (!enabled || !this.connected) {
        return;
      }
      onError(() => {
        // The streaming connection dropped; the Pending watch still refreshes the panel.
        this.subscription = undefined;
      });
      const subscription = await subscribe(`/event/${SYNC_EVENT.objectApiName}`, -1, (message) =>
        this.handleSyncEvent(message),
      );
      if (this.connected) {
        this.subscription = subscription;
      } else {
        unsubscribe(subscription, () => {});
      }
    } catch {
      this.subscription = undefined;
    }
  }

  handleSyncEvent(message) {
    const payload = message?.data?.payload ?? {};
    const opportunityId = payload[EVENT_OPPORTUNITY_ID_FIELD.fieldApiName];
    if (opportunityId && this.recordId && sameId(opportunityId, this.recordId)) {
      this.startWatching();
    }
  }

  trackSyncProgress() {
    const auditHead = this.auditHead();
    const syncStatus = this.syncStatus;
    if (this.watch) {
      const answered = auditHead !== this.watch.auditHead || syncStatus !== this.watch.syncStatus;
      if (answered && syncStatus !== STATUS_PENDING) {
        this.stopWatching();
      }
      return;
    }
    const key = `${syncStatus}|${auditHead}`;
    if (this.syncOn && this.status.label === STATUS_PENDING && key !== this.lastAutoWatchKey) {
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
    this.watch = { auditHead: this.auditHead(), syncStatus: this.syncStatus, polls: 0 };
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    // eslint-disable-next-line @lwc/lwc/no-async-operation -- bounded refresh of a sync in flight
    this.refreshTimer = setTimeout(() => this.refreshFromServer(), POLL_INTERVAL_MS);
  }

  refreshFromServer() {
    if (!this.watch || !this.connected) {
      return;
    }
    this.watch.polls += 1;
    notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
    if (this.watch.polls < POLL_LIMIT) {
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

// Event payloads carry 18-character ids; a record page may hand the component either form.
function sameId(a, b) {
  return a.substring(0, 15) === b.substring(0, 15);
}
