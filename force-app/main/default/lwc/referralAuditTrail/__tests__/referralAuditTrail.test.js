import { createElement } from '@lwc/engine-dom';
import ReferralAuditTrail from 'c/referralAuditTrail';
import { byDataId, deepQueryAll, flushPromises, resetDom } from 'test-utils';

const { outOfOrder } = require('./data/audit.json');

async function render(audit) {
  const element = createElement('c-referral-audit-trail', { is: ReferralAuditTrail });
  element.audit = audit;
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

describe('c-referral-audit-trail', () => {
  afterEach(() => {
    resetDom();
  });

  it('shows No sync activity yet when the trail is empty', async () => {
    const element = await render(null);

    expect(byDataId(element, 'audit-empty').textContent).toBe('No sync activity yet.');
    expect(byDataId(element, 'audit')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows entries newest first with unreadable lines last when lines arrive out of order', async () => {
    const element = await render(outOfOrder);

    const entries = deepQueryAll(element, '[data-id="audit-entry"]');
    expect(entries).toHaveLength(4);
    expect(entries[0].textContent).toContain(
      'Customer country "USA" is not an ISO 3166 alpha-2 code | see mapping',
    );
    expect(entries[0].querySelector('.slds-theme_error')).not.toBeNull();
    expect(entries[1].textContent).toContain('Status read from Partner Center');
    expect(entries[2].textContent).toContain('Referral created');
    expect(entries[3].textContent).toContain('not a structured line');
    const times = deepQueryAll(element, 'lightning-formatted-date-time');
    expect(times.map((time) => time.value)).toEqual([
      '2026-11-25T08:51:02Z',
      '2026-11-25T08:45:00Z',
      '2026-11-25T08:40:00Z',
    ]);
    await expect(element).toBeAccessible();
  });
});
