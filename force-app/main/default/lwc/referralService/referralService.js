/**
 * What the referral panel and its children share, with no template and no platform state: the
 * audit trail parser, the sync badge, error messages and the inbox's transitions and deadline.
 */
import { parseAuditTrail, newestError } from './auditTrail';
import { reduceErrors } from './reduceErrors';

export { parseAuditTrail, newestError, reduceErrors };

export const SYNC_SYNCED = 'Synced';
export const SYNC_ERROR = 'Error';
export const SYNC_PENDING = 'Pending';

/** The badge for a record's sync state; reason is the newest error line when the sync failed. */
export function syncBadge({ syncOn, syncStatus, audit }) {
  if (!syncOn) {
    return { label: 'Not synced', className: 'slds-badge_lightest', reason: null };
  }
  if (syncStatus === SYNC_SYNCED) {
    return { label: '✔ Synced', className: 'slds-theme_success', reason: null };
  }
  if (syncStatus === SYNC_ERROR) {
    const error = newestError(parseAuditTrail(audit));
    return {
      label: '✘ Error',
      className: 'slds-theme_error',
      reason: error ? error.message : 'Partner Center rejected the last change.',
    };
  }
  return { label: 'Pending', className: 'slds-theme_warning', reason: null };
}

/** Audit entries with the badge class each level shows with. */
export function auditEntries(audit) {
  return parseAuditTrail(audit).map((entry) => ({
    ...entry,
    levelClass: `slds-badge ${entry.level === 'ERROR' ? 'slds-theme_error' : 'slds-badge_lightest'}`,
  }));
}

// ----- inbound inbox

/*
 * Partner Center's status table (contracts/partner-center.md §1.5): a New referral may move to
 * Active (substatus Accepted) or Closed (Won, Lost, Declined, Expired); Active and Closed never go
 * back to New. A seller answers an incoming referral only while it is New/Pending or New/Received:
 * accepting moves it to Active/Accepted, declining to Closed/Declined with a reason.
 */
export const RESPONSE_ACCEPT = 'Accept';
export const RESPONSE_DECLINE = 'Decline';
const ANSWERABLE_SUBSTATUSES = ['Pending', 'Received'];

export const RESPONSE_TARGETS = Object.freeze({
  [RESPONSE_ACCEPT]: Object.freeze({ status: 'Active', substatus: 'Accepted' }),
  [RESPONSE_DECLINE]: Object.freeze({ status: 'Closed', substatus: 'Declined' }),
});

/** True while Microsoft waits for the seller's answer to an incoming referral. */
export function awaitsResponse(status, substatus) {
  return status === 'New' && ANSWERABLE_SUBSTATUSES.includes(substatus);
}

/** Why a decline needs a reason: Partner Center's statusReason tells Microsoft's seller. */
export const DECLINE_REASONS = Object.freeze([
  { label: 'Not a fit for our solutions', value: 'Not a fit for our solutions' },
  { label: 'Customer already engaged with us', value: 'Customer already engaged with us' },
  { label: 'No capacity to take it on', value: 'No capacity to take it on' },
  { label: 'Customer region not served', value: 'Customer region not served' },
  { label: 'Duplicate of another referral', value: 'Duplicate of another referral' },
]);

/*
 * "If you don't respond to a lead or opportunity within the allotted time (currently 14 days),
 * we'll archive it as Expired" (contracts/partner-center.md §1.3).
 */
export const RESPONSE_WINDOW_DAYS = 14;
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Under this much time left the countdown shows as a warning. */
export const DEADLINE_WARNING_MS = 2 * DAY_MS;

/** When an incoming referral created at `createdAt` (ISO string) expires, or null if unreadable. */
export function responseDeadline(createdAt) {
  const created = Date.parse(createdAt ?? '');
  return Number.isNaN(created) ? null : new Date(created + RESPONSE_WINDOW_DAYS * DAY_MS);
}

/**
 * The countdown for a deadline at `now` (both Dates): "3 days 4 hours left", "5 hours left",
 * "less than an hour left" or "expired", with how urgent it is (normal, warning, expired).
 */
export function countdown(deadline, now) {
  const left = deadline.getTime() - now.getTime();
  if (left <= 0) {
    return { text: 'Expired', urgency: 'expired', msLeft: 0 };
  }
  const days = Math.floor(left / DAY_MS);
  const hours = Math.floor((left % DAY_MS) / HOUR_MS);
  const parts = [];
  if (days > 0) {
    parts.push(`${days} ${days === 1 ? 'day' : 'days'}`);
  }
  if (hours > 0) {
    parts.push(`${hours} ${hours === 1 ? 'hour' : 'hours'}`);
  }
  const text = parts.length > 0 ? `${parts.join(' ')} left` : 'Less than an hour left';
  return { text, urgency: left < DEADLINE_WARNING_MS ? 'warning' : 'normal', msLeft: left };
}
