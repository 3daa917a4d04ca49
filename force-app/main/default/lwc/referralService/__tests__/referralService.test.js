import {
  awaitsResponse,
  countdown,
  reduceErrors,
  responseDeadline,
  syncBadge,
  RESPONSE_TARGETS,
} from 'c/referralService';

const deadlines = require('./data/deadlines.json');

describe('c-referral-service', () => {
  it('counts down to 14 days after creation when a referral awaits an answer', () => {
    const deadline = responseDeadline(deadlines.created);
    expect(deadline.toISOString()).toBe('2026-12-04T10:00:00.000Z');
    for (const { now, text, urgency } of deadlines.cases) {
      expect({ now, ...pick(countdown(deadline, new Date(now))) }).toEqual({ now, text, urgency });
    }
  });

  it('has no deadline when the creation time is missing or unreadable', () => {
    expect(responseDeadline(null)).toBeNull();
    expect(responseDeadline('yesterday-ish')).toBeNull();
  });

  it('awaits an answer only while the referral is New and Pending or Received', () => {
    expect(awaitsResponse('New', 'Pending')).toBe(true);
    expect(awaitsResponse('New', 'Received')).toBe(true);
    expect(awaitsResponse('Active', 'Accepted')).toBe(false);
    expect(awaitsResponse('Closed', 'Expired')).toBe(false);
    expect(awaitsResponse('New', null)).toBe(false);
  });

  it('moves an accepted referral to Active/Accepted and a declined one to Closed/Declined', () => {
    expect(RESPONSE_TARGETS.Accept).toEqual({ status: 'Active', substatus: 'Accepted' });
    expect(RESPONSE_TARGETS.Decline).toEqual({ status: 'Closed', substatus: 'Declined' });
  });

  it('shows the sync badge for each sync state', () => {
    expect(syncBadge({ syncOn: false }).label).toBe('Not synced');
    expect(syncBadge({ syncOn: true, syncStatus: 'Pending' }).label).toBe('Pending');
    expect(syncBadge({ syncOn: true, syncStatus: 'Synced' }).label).toBe('✔ Synced');
    expect(
      syncBadge({ syncOn: true, syncStatus: 'Error', audit: '2026-11-25T08:50:00Z | ERROR | outbound | Bad' })
        .reason,
    ).toBe('Bad');
  });

  it('reads UI API, Apex and plain errors into messages', () => {
    expect(
      reduceErrors([
        {
          body: {
            output: {
              errors: [{ message: 'Record locked' }],
              fieldErrors: { Name: [{ message: 'Too long' }] },
            },
          },
        },
        { body: { message: 'Apex said no' } },
        new Error('Network down'),
        'plain',
        null,
      ]),
    ).toEqual(['Record locked', 'Too long', 'Apex said no', 'Network down', 'plain']);
  });
});

function pick({ text, urgency }) {
  return { text, urgency };
}
