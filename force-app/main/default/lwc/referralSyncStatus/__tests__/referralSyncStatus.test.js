import { createElement } from '@lwc/engine-dom';
import ReferralSyncStatus from 'c/referralSyncStatus';
import { byDataId, flushPromises, resetDom } from 'test-utils';

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
});
