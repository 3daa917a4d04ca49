/**
 * The preview page: the real LWC engine with synthetic shadow (lightning-base-components needs it)
 * renders c-referral-panel for the state named in ?state=, on SLDS.
 */
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import ReferralPanel from 'c/referralPanel';
import { currentState } from '../platform/previewStore';

const state = currentState();
document.title = `Referral panel · ${state.title}`;
document.querySelector('[data-id="state-title"]').textContent = state.title;
document.querySelector('[data-id="state-description"]').textContent = state.description;

const toasts = document.querySelector('[data-id="toasts"]');
const panel = createElement('c-referral-panel', { is: ReferralPanel });
panel.recordId = state.record?.id ?? '006AZ00000PreviewAA';
panel.addEventListener('lightning__showtoast', (event) => {
  const item = document.createElement('li');
  item.className = `slds-text-body_small ${event.detail.variant === 'error' ? 'slds-text-color_error' : ''}`;
  item.textContent = `${event.detail.title}: ${event.detail.message}`;
  toasts.appendChild(item);
});
document.querySelector('[data-id="panel"]').appendChild(panel);
document.body.dataset.rendered = state.name;
