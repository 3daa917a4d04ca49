import { createElement } from '@lwc/engine-dom';
import ReferralSummary from 'c/referralSummary';
import { byDataId, flushPromises, resetDom } from 'test-utils';

const referrals = require('./data/referrals.json');

async function render(values) {
  const element = createElement('c-referral-summary', { is: ReferralSummary });
  Object.assign(element, values);
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

describe('c-referral-summary', () => {
  afterEach(() => {
    resetDom();
  });

  it('shows a link to the referral and its status when the referral has a link', async () => {
    const element = await render(referrals.linked);

    const link = byDataId(element, 'referral-link');
    expect(link.value).toBe(referrals.linked.referralLink);
    expect(link.label).toBe(referrals.linked.referralId);
    expect(byDataId(element, 'referral-status').textContent).toBe('Active · Accepted');
    await expect(element).toBeAccessible();
  });

  it('shows the bare id and the status alone when there is no link and no substatus', async () => {
    const element = await render(referrals.idOnly);

    expect(byDataId(element, 'referral-link')).toBeNull();
    expect(byDataId(element, 'referral').textContent).toContain(referrals.idOnly.referralId);
    expect(byDataId(element, 'referral-status').textContent).toBe('New');
    await expect(element).toBeAccessible();
  });

  it('shows Not created yet and no status when there is no referral', async () => {
    const element = await render(referrals.none);

    expect(byDataId(element, 'referral').textContent).toContain('Not created yet');
    expect(byDataId(element, 'referral-status')).toBeNull();
    await expect(element).toBeAccessible();
  });
});
