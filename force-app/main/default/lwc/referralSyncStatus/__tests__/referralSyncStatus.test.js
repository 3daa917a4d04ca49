import { createElement } from '@lwc/engine-dom';
import ReferralSyncStatus from 'c/referralSyncStatus';
import requestSync from '@salesforce/apex/ReferralSyncNowController.requestSync';
import { byDataId, flushPromises, resetDom } from 'test-utils';

jest.mock('@salesforce/apex/ReferralSyncNowController.requestSync', () => ({ default: jest.fn() }), {
  virtual: true,
});

const states = require('./data/states.json');

async function render(state) {
  const element = createElement('c-referral-sync-status', { is: ReferralSyncStatus });
  Object.assign(element, state);
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

describe('c-referral-sync-status', () => {
  afterEach(() => {
    resetDom();
    jest.clearAllMocks();
  });

  it('shows Not synced when sync is off', async () => {
    const element = await render(states.notSynced);

    expect(byDataId(element, 'status-badge').label).toBe('Not synced');
    expect(byDataId(element, 'status-reason')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows Pending when the relay has not answered', async () => {
    const element = await render(states.pending);

    expect(byDataId(element, 'status-badge').label).toBe('Pending');
    expect(byDataId(element, 'status-badge').className).toContain('slds-theme_warning');
    await expect(element).toBeAccessible();
  });

  it('shows Synced when the relay synced the record', async () => {
    const element = await render(states.synced);

    expect(byDataId(element, 'status-badge').label).toBe('✔ Synced');
    expect(byDataId(element, 'status-reason')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows the newest error line as the reason when the sync failed', async () => {
    const element = await render(states.error);

    expect(byDataId(element, 'status-badge').label).toBe('✘ Error');
    expect(byDataId(element, 'status-reason').textContent.trim()).toBe('Deal value must be positive');
    await expect(element).toBeAccessible();
  });

  it('shows a generic reason when the sync failed without an error line', async () => {
    const element = await render(states.errorWithoutLine);

    expect(byDataId(element, 'status-reason').textContent.trim()).toBe(
      'Partner Center rejected the last change.',
    );
    await expect(element).toBeAccessible();
  });

  describe('Sync now', () => {
    it('is offered only for a synced record, and off while the relay has not answered', async () => {
      expect(byDataId(await render(states.notSynced), 'sync-now')).toBeNull();
      resetDom();
      expect(byDataId(await render(states.pending), 'sync-now').disabled).toBe(true);
      resetDom();
      const element = await render(states.error);
      expect(byDataId(element, 'sync-now').disabled).toBe(false);
      await expect(element).toBeAccessible();
    });

    it('asks the controller for this record and tells the panel to watch for the answer', async () => {
      requestSync.mockResolvedValue('Pending');
      const element = await render({ ...states.synced, recordId: '006000000000001AAA' });
      const requested = [];
      element.addEventListener('syncrequested', (event) => requested.push(event.detail));

      byDataId(element, 'sync-now').click();
      await flushPromises();

      expect(requestSync).toHaveBeenCalledWith({ opportunityId: '006000000000001AAA' });
      expect(requested).toEqual([{ status: 'Pending' }]);
      expect(byDataId(element, 'sync-now-error')).toBeNull();
    });

    it("shows the controller's refusal and fires nothing", async () => {
      requestSync.mockRejectedValue({ body: { message: 'You may not edit this Opportunity' } });
      const element = await render({ ...states.synced, recordId: '006000000000001AAA' });
      const requested = [];
      element.addEventListener('syncrequested', (event) => requested.push(event.detail));

      byDataId(element, 'sync-now').click();
      await flushPromises();

      expect(requested).toEqual([]);
      expect(byDataId(element, 'sync-now-error').textContent.trim()).toBe(
        'Sync now failed: You may not edit this Opportunity',
      );
      expect(byDataId(element, 'sync-now').disabled).toBe(false);
      await expect(element).toBeAccessible();
    });
  });
});
