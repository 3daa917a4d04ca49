import { createElement } from '@lwc/engine-dom';
import ReferralPanel, {
  FIRST_REFRESH_MS,
  MAX_REFRESH_MS,
  MAX_REFRESHES,
  refreshDelay,
} from 'c/referralPanel';
import { getRecord, updateRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { getObjectInfo, getPicklistValues } from 'lightning/uiObjectInfoApi';
import respond from '@salesforce/apex/ReferralInboxController.respond';
import requestSync from '@salesforce/apex/ReferralSyncNowController.requestSync';
import { byDataId, deepQuery, deepQueryAll, flushPromises, resetDom } from 'test-utils';

const mockRecordNotSynced = require('./data/getRecordNotSynced.json');
const mockRecordPending = require('./data/getRecordPending.json');
const mockRecordSynced = require('./data/getRecordSynced.json');
const mockRecordError = require('./data/getRecordError.json');
const mockObjectInfoSeller = require('./data/getObjectInfoSeller.json');
const mockObjectInfoReadOnly = require('./data/getObjectInfoReadOnly.json');
const mockHelpValues = require('./data/getPicklistValuesHelp.json');
const mockUpdateError = require('./data/updateRecordError.json');
const mockRecordIncoming = require('./data/getRecordIncoming.json');

jest.mock('@salesforce/apex/ReferralInboxController.respond', () => ({ default: jest.fn() }), {
  virtual: true,
});
jest.mock('@salesforce/apex/ReferralSyncNowController.requestSync', () => ({ default: jest.fn() }), {
  virtual: true,
});

const RECORD_ID = mockRecordSynced.id;
const TOAST_EVENT = 'lightning__showtoast';

function createPanel() {
  const element = createElement('c-referral-panel', { is: ReferralPanel });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

async function renderWith(record, objectInfo = mockObjectInfoSeller) {
  const element = createPanel();
  getObjectInfo.emit(objectInfo);
  getRecord.emit(record);
  getPicklistValues.emit(mockHelpValues);
  await flushPromises();
  return element;
}

// The panel's children render in their own shadow roots; the helpers look through them.
function byId(element, id) {
  return byDataId(element, id);
}

function collectToasts(element) {
  const toasts = [];
  element.addEventListener(TOAST_EVENT, (event) => toasts.push(event.detail));
  return toasts;
}

function change(target, detail) {
  target.dispatchEvent(new CustomEvent('change', { detail }));
}

function withAudit(record, audit, syncStatus) {
  const copy = JSON.parse(JSON.stringify(record));
  copy.fields.Audit__c.value = audit;
  copy.fields.Referral_Sync_Status__c.value = syncStatus;
  return copy;
}

describe('c-referral-panel', () => {
  afterEach(() => {
    resetDom();
    jest.clearAllMocks();
    jest.useRealTimers();
  });

  it('shows a spinner when the record is still loading', async () => {
    const element = createPanel();
    await flushPromises();

    const spinner = deepQuery(element, 'lightning-spinner');
    expect(spinner).not.toBeNull();
    expect(spinner.alternativeText).toBe('Loading the referral');
    expect(byId(element, 'status-badge')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows the error when the record cannot be loaded', async () => {
    const element = createPanel();
    getRecord.error({ message: 'You do not have access to this record.' }, 403, 'Forbidden');
    await flushPromises();

    expect(byId(element, 'load-error').textContent).toContain('You do not have access to this record.');
    await expect(element).toBeAccessible();
  });

  it('shows Not synced when sync is off', async () => {
    const element = await renderWith(mockRecordNotSynced);

    expect(byId(element, 'status-badge').label).toBe('Not synced');
    expect(byId(element, 'sync').checked).toBe(false);
    expect(byId(element, 'referral').textContent).toContain('Not created yet');
    expect(byId(element, 'audit-empty')).not.toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows Pending when sync is on and the relay has not answered', async () => {
    const element = await renderWith(mockRecordPending);

    expect(byId(element, 'status-badge').label).toBe('Pending');
    expect(byId(element, 'status-reason')).toBeNull();
    expect(byId(element, 'sync').checked).toBe(true);
    await expect(element).toBeAccessible();
  });

  it('shows Synced with the referral link when the relay has synced', async () => {
    const element = await renderWith(mockRecordSynced);

    expect(byId(element, 'status-badge').label).toBe('✔ Synced');
    const link = byId(element, 'referral-link');
    expect(link.value).toBe(mockRecordSynced.fields.Referral_Link__c.value);
    expect(link.label).toBe(mockRecordSynced.fields.Referral_Identifier__c.value);
    expect(byId(element, 'referral-status').textContent).toBe('Active · Accepted');
    const help = byId(element, 'help');
    expect(help.value).toBe('ProofOfConceptOrDemo');
    expect(help.options.map((option) => option.value)).toEqual([
      '',
      ...mockHelpValues.values.map((entry) => entry.value),
    ]);
    expect(byId(element, 'solutions').value).toBe('SOL-34104-EBB');
    await expect(element).toBeAccessible();
  });

  it('shows the newest error reason and a newest-first timeline when the sync failed', async () => {
    const element = await renderWith(mockRecordError);

    expect(byId(element, 'status-badge').label).toBe('✘ Error');
    expect(byId(element, 'status-reason').textContent).toBe(
      'Customer country "USA" is not an ISO 3166 alpha-2 code',
    );
    const entries = deepQueryAll(element, '[data-id="audit-entry"]');
    expect(entries).toHaveLength(4);
    expect(entries[0].textContent).toContain('Status read from Partner Center');
    expect(entries[2].textContent).toContain('Partner Center returned 503 | retried');
    expect(entries[3].textContent).toContain('Referral created');
    const times = deepQueryAll(element, 'lightning-formatted-date-time');
    expect(times[0].value).toBe('2026-11-25T08:51:02Z');
    await expect(element).toBeAccessible();
  });

  it('shows read-only values when the user may not edit the referral fields', async () => {
    const element = await renderWith(mockRecordSynced, mockObjectInfoReadOnly);

    expect(byId(element, 'help')).toBeNull();
    expect(byId(element, 'help-readonly').textContent).toBe('Proof of concept or demo');
    expect(byId(element, 'solutions')).toBeNull();
    expect(byId(element, 'solutions-readonly').textContent.trim()).toBe('SOL-34104-EBB');
    expect(byId(element, 'sync').disabled).toBe(true);
    expect(byId(element, 'visibility').disabled).toBe(true);
    expect(byId(element, 'save')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('saves only the changed fields and shows a success toast when the seller saves', async () => {
    const element = await renderWith(mockRecordSynced);
    const toasts = collectToasts(element);
    expect(byId(element, 'save').disabled).toBe(true);

    change(byId(element, 'solutions'), { value: 'SOL-34104-EBB;SOL-50000-AAA' });
    change(byId(element, 'help'), { value: '' });
    await flushPromises();
    expect(byId(element, 'save').disabled).toBe(false);
    byId(element, 'save').click();
    await flushPromises();

    expect(updateRecord).toHaveBeenCalledTimes(1);
    expect(updateRecord).toHaveBeenCalledWith({
      fields: {
        Id: RECORD_ID,
        Partner_Center_Solutions__c: 'SOL-34104-EBB;SOL-50000-AAA',
        How_can_Microsoft_help__c: null,
      },
    });
    expect(toasts).toHaveLength(1);
    expect(toasts[0].variant).toBe('success');
    expect(byId(element, 'save').disabled).toBe(true);
    await expect(element).toBeAccessible();
  });

  it('shows the error Salesforce returned in a toast when the save fails', async () => {
    updateRecord.mockRejectedValueOnce(mockUpdateError);
    const element = await renderWith(mockRecordSynced);
    const toasts = collectToasts(element);

    change(byId(element, 'solutions'), { value: 'not-a-solution' });
    await flushPromises();
    byId(element, 'save').click();
    await flushPromises();

    expect(toasts).toHaveLength(1);
    expect(toasts[0].variant).toBe('error');
    expect(toasts[0].message).toBe('Solution ids look like SOL-12345-ABC');
    expect(byId(element, 'save').disabled).toBe(false);
    await expect(element).toBeAccessible();
  });

  it('switches sync on and re-reads the record when the seller saves', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordNotSynced);

    const toggle = byId(element, 'sync');
    toggle.checked = true;
    toggle.dispatchEvent(new CustomEvent('change'));
    await flushPromises();
    byId(element, 'save').click();
    await flushPromises();
    // What updateRecord hands back: the trigger marked the published save Pending.
    getRecord.emit(mockRecordPending);
    await flushPromises();

    expect(updateRecord).toHaveBeenCalledWith({
      fields: { Id: RECORD_ID, Sync_with_Partner_Center__c: true },
    });
    jest.advanceTimersByTime(FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
    expect(byId(element, 'status-badge').label).toBe('Pending');
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('re-reads the record at once and watches it after Sync now', async () => {
    jest.useFakeTimers();
    requestSync.mockResolvedValue('Pending');
    const element = await renderWith(mockRecordSynced);

    byId(element, 'sync-now').click();
    await flushPromises();

    expect(requestSync).toHaveBeenCalledWith({ opportunityId: RECORD_ID });
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
    getRecord.emit(mockRecordPending);
    await flushPromises();
    expect(byId(element, 'status-badge').label).toBe('Pending');
    expect(byId(element, 'sync-now').disabled).toBe(true);
    jest.advanceTimersByTime(FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(2);
    jest.useRealTimers();
  });

  it('re-reads a Pending record with growing delays until it shows Synced', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordPending);

    jest.advanceTimersByTime(FIRST_REFRESH_MS - 1);
    expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
    jest.advanceTimersByTime(2 * FIRST_REFRESH_MS - 1);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(4 * FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(3);

    getRecord.emit(mockRecordSynced);
    await flushPromises();
    jest.advanceTimersByTime(MAX_REFRESH_MS * MAX_REFRESHES);

    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(3);
    expect(byId(element, 'status-badge').label).toBe('✔ Synced');
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('stops re-reading and shows the reason when the record shows Error', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordPending);
    jest.advanceTimersByTime(FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);

    getRecord.emit(
      withAudit(
        mockRecordPending,
        `2026-11-25T09:00:00Z | ERROR | outbound | Deal value must be positive\n${mockRecordPending.fields.Audit__c.value}`,
        'Error',
      ),
    );
    await flushPromises();
    jest.advanceTimersByTime(MAX_REFRESH_MS * MAX_REFRESHES);

    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
    expect(byId(element, 'status-badge').label).toBe('✘ Error');
    expect(byId(element, 'status-reason').textContent).toBe('Deal value must be positive');
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('waits at most the longest delay between re-reads and gives up after the last one while the record stays Pending', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordPending);

    let elapsed = 0;
    for (let attempt = 0; attempt < MAX_REFRESHES; attempt += 1) {
      expect(refreshDelay(attempt)).toBeLessThanOrEqual(MAX_REFRESH_MS);
      jest.advanceTimersByTime(refreshDelay(attempt));
      elapsed += refreshDelay(attempt);
      expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(attempt + 1);
    }
    jest.advanceTimersByTime(MAX_REFRESH_MS * 10);

    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(MAX_REFRESHES);
    expect(refreshDelay(MAX_REFRESHES - 1)).toBe(MAX_REFRESH_MS);
    expect(elapsed).toBeLessThan(5 * 60 * 1000);
    expect(byId(element, 'status-badge').label).toBe('Pending');
  });

  it('does not start another watch when the same unanswered record arrives again after one ran out', async () => {
    jest.useFakeTimers();
    await renderWith(mockRecordPending);
    jest.advanceTimersByTime(MAX_REFRESH_MS * (MAX_REFRESHES + 1));
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(MAX_REFRESHES);

    getRecord.emit(JSON.parse(JSON.stringify(mockRecordPending)));
    await flushPromises();
    jest.advanceTimersByTime(MAX_REFRESH_MS * 3);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(MAX_REFRESHES);

    getRecord.emit(
      withAudit(
        mockRecordPending,
        `2026-11-25T09:10:00Z | INFO | outbound | Sync requested by the seller\n${mockRecordPending.fields.Audit__c.value}`,
        'Pending',
      ),
    );
    await flushPromises();
    jest.advanceTimersByTime(FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(MAX_REFRESHES + 1);
  });

  it('does not re-read a record that is Synced or not synced', async () => {
    jest.useFakeTimers();
    await renderWith(mockRecordSynced);
    getRecord.emit(mockRecordNotSynced);
    await flushPromises();
    jest.advanceTimersByTime(MAX_REFRESH_MS * MAX_REFRESHES);

    expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
  });

  it('stops re-reading when a save published nothing and the record keeps its last answer', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordSynced);

    change(byId(element, 'solutions'), { value: 'SOL-34104-EBB;SOL-50000-AAA' });
    await flushPromises();
    byId(element, 'save').click();
    await flushPromises();
    jest.advanceTimersByTime(MAX_REFRESH_MS * MAX_REFRESHES);

    expect(updateRecord).toHaveBeenCalledTimes(1);
    expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
  });

  it('stops re-reading when the panel is removed', async () => {
    jest.useFakeTimers();
    const element = await renderWith(mockRecordPending);
    jest.advanceTimersByTime(FIRST_REFRESH_MS);
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);

    document.body.removeChild(element);
    jest.advanceTimersByTime(MAX_REFRESH_MS * MAX_REFRESHES);

    expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('shows the inbox with its deadline when Microsoft shared a referral awaiting an answer', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-24T10:00:00Z') });
    const element = await renderWith(mockRecordIncoming);

    expect(byId(element, 'inbox')).not.toBeNull();
    expect(byId(element, 'countdown').textContent).toBe('10 days left');
    expect(byId(element, 'referral-status').textContent).toBe('New · Pending');
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('shows no inbox when the referral is already accepted', async () => {
    const element = await renderWith(mockRecordSynced);

    expect(byId(element, 'inbox')).toBeNull();
  });

  it('re-reads the record when the seller answered in the inbox', async () => {
    respond.mockResolvedValue('Active/Accepted');
    const element = await renderWith(mockRecordIncoming);

    byId(element, 'accept').click();
    await flushPromises();

    expect(respond).toHaveBeenCalledWith({
      opportunityId: RECORD_ID,
      response: 'Accept',
      reason: null,
    });
    expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
  });
});
