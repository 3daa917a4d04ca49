import { createElement } from '@lwc/engine-dom';
import ReferralInbox, { TICK_MS } from 'c/referralInbox';
import respond from '@salesforce/apex/ReferralInboxController.respond';
import { byDataId, flushPromises, resetDom } from 'test-utils';

const incoming = require('./data/incoming.json');

jest.mock('@salesforce/apex/ReferralInboxController.respond', () => ({ default: jest.fn() }), {
  virtual: true,
});

const TOAST_EVENT = 'lightning__showtoast';

async function render(values) {
  const element = createElement('c-referral-inbox', { is: ReferralInbox });
  Object.assign(element, values);
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

function collect(element, name) {
  const events = [];
  element.addEventListener(name, (event) => events.push(event.detail));
  return events;
}

describe('c-referral-inbox', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date(incoming.now) });
  });

  afterEach(() => {
    resetDom();
    jest.clearAllMocks();
    jest.useRealTimers();
  });

  it('shows the deadline and the days left when Microsoft waits for an answer', async () => {
    const element = await render(incoming.pending);

    expect(byDataId(element, 'deadline-date').value).toBe('2026-12-04T10:00:00.000Z');
    expect(byDataId(element, 'countdown').textContent).toBe('10 days left');
    expect(byDataId(element, 'accept').disabled).toBe(false);
    expect(byDataId(element, 'decline').disabled).toBe(false);
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('shows the countdown as a warning and keeps it ticking when less than two days are left', async () => {
    const element = await render(incoming.expiringSoon);

    expect(byDataId(element, 'countdown').textContent).toBe('1 day 5 hours left');
    expect(byDataId(element, 'countdown').className).toContain('slds-text-title_bold');
    jest.advanceTimersByTime(2 * 60 * TICK_MS);
    await flushPromises();
    expect(byDataId(element, 'countdown').textContent).toBe('1 day 3 hours left');
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('shows Expired and disables both answers when 14 days have passed', async () => {
    const element = await render(incoming.expired);

    expect(byDataId(element, 'countdown').textContent).toBe('Expired');
    expect(byDataId(element, 'expired-note')).not.toBeNull();
    expect(byDataId(element, 'accept').disabled).toBe(true);
    expect(byDataId(element, 'decline').disabled).toBe(true);
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('shows the answer instead of the buttons when the seller already answered', async () => {
    const element = await render(incoming.accepted);

    expect(byDataId(element, 'inbox-answered').textContent).toContain('You accepted this referral');
    expect(byDataId(element, 'accept')).toBeNull();
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('shows nothing when the referral is no longer New', async () => {
    const element = await render(incoming.active);

    expect(byDataId(element, 'inbox')).toBeNull();
    jest.useRealTimers();
    await expect(element).toBeAccessible();
  });

  it('sends Accept and tells the panel when the seller accepts', async () => {
    respond.mockResolvedValue('Active/Accepted');
    const element = await render(incoming.pending);
    const toasts = collect(element, TOAST_EVENT);
    const answers = collect(element, 'responded');

    byDataId(element, 'accept').click();
    await flushPromises();

    expect(respond).toHaveBeenCalledWith({
      opportunityId: incoming.pending.recordId,
      response: 'Accept',
      reason: null,
    });
    expect(answers).toEqual([{ response: 'Accept', asked: 'Active/Accepted' }]);
    expect(toasts).toHaveLength(1);
    expect(toasts[0].variant).toBe('success');
    expect(toasts[0].message).toBe('Partner Center will show it Active/Accepted in a few seconds.');
  });

  it('asks for a reason before it sends Decline when the seller declines', async () => {
    respond.mockResolvedValue('Closed/Declined');
    const element = await render(incoming.pending);
    const answers = collect(element, 'responded');

    byDataId(element, 'decline').click();
    await flushPromises();
    expect(byDataId(element, 'decline-reason').required).toBe(true);
    expect(byDataId(element, 'decline-confirm').disabled).toBe(true);
    jest.useRealTimers();
    await expect(element).toBeAccessible();

    byDataId(element, 'decline-reason').dispatchEvent(
      new CustomEvent('change', { detail: { value: 'Customer region not served' } }),
    );
    await flushPromises();
    expect(byDataId(element, 'decline-confirm').disabled).toBe(false);
    byDataId(element, 'decline-confirm').click();
    await flushPromises();

    expect(respond).toHaveBeenCalledWith({
      opportunityId: incoming.pending.recordId,
      response: 'Decline',
      reason: 'Customer region not served',
    });
    expect(answers).toEqual([{ response: 'Decline', asked: 'Closed/Declined' }]);
  });

  it('goes back to both answers without sending anything when the seller steps back from declining', async () => {
    const element = await render(incoming.pending);

    byDataId(element, 'decline').click();
    await flushPromises();
    byDataId(element, 'decline-back').click();
    await flushPromises();

    expect(byDataId(element, 'decline-reason')).toBeNull();
    expect(byDataId(element, 'accept')).not.toBeNull();
    expect(respond).not.toHaveBeenCalled();
  });

  it('shows the refusal in a sticky toast and keeps the buttons when the answer is refused', async () => {
    respond.mockRejectedValue(incoming.respondError);
    const element = await render(incoming.pending);
    const toasts = collect(element, TOAST_EVENT);
    const answers = collect(element, 'responded');

    byDataId(element, 'accept').click();
    await flushPromises();

    expect(answers).toHaveLength(0);
    expect(toasts).toHaveLength(1);
    expect(toasts[0].variant).toBe('error');
    expect(toasts[0].mode).toBe('sticky');
    expect(toasts[0].message).toBe(incoming.respondError.body.message);
    expect(byDataId(element, 'accept').disabled).toBe(false);
  });

  it('stops the countdown when it is removed', async () => {
    const element = await render(incoming.pending);
    expect(jest.getTimerCount()).toBe(1);

    document.body.removeChild(element);

    expect(jest.getTimerCount()).toBe(0);
  });
});
