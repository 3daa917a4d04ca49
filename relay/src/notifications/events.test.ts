import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Referral } from '../sync/referral.ts';
import { ANSWER_WINDOW_MS, answerDeadline, awaitsAnswer, isForMicrosoft, microsoftAnswer } from './events.ts';

const incoming = (over: Partial<Referral> = {}): Referral =>
  ({
    id: 'r1',
    direction: 'Incoming',
    status: 'New',
    substatus: 'Pending',
    createdDateTime: '2026-11-20T10:00:00Z',
    ...over,
  }) as Referral;
const msft = [{ type: 'BusinessProfileLocation', id: 'msft' }];

describe('notification events', () => {
  it('an incoming New referral waits for an answer for 14 days from its creation', () => {
    assert.equal(awaitsAnswer(incoming()), true);
    assert.equal(awaitsAnswer(incoming({ substatus: 'Received' })), true);
    assert.equal(awaitsAnswer(incoming({ status: 'Active', substatus: 'Accepted' })), false);
    assert.equal(awaitsAnswer(incoming({ direction: 'Outgoing' })), false);
    assert.equal(answerDeadline(incoming())?.toISOString(), '2026-12-04T10:00:00.000Z');
    assert.equal(answerDeadline(incoming({ createdDateTime: 'not a date' })), null);
    assert.equal(answerDeadline(incoming({ status: 'Closed', substatus: 'Expired' })), null);
  });

  it("reads Microsoft's answer only on the referral shared with Microsoft, whatever shape its target has", () => {
    assert.equal(
      microsoftAnswer({ status: 'Active', substatus: 'Accepted', target: msft } as Referral),
      'referral-accepted',
    );
    assert.equal(
      microsoftAnswer({ status: 'Closed', substatus: 'Declined', target: msft } as Referral),
      'referral-declined',
    );
    assert.equal(microsoftAnswer({ status: 'Closed', substatus: 'Lost', target: msft } as Referral), null);
    assert.equal(
      microsoftAnswer({
        status: 'Active',
        substatus: 'Accepted',
        target: [{ type: 'SolutionProfile', id: 'SOL-1' }],
      } as Referral),
      null,
    );
    // A single object where the documentation shows an array, and null, as real captures carry them.
    assert.equal(isForMicrosoft({ target: msft[0] } as unknown as Referral), true);
    assert.equal(isForMicrosoft({ target: null } as Referral), false);
  });

  it('never throws on generated referrals, and a deadline is always the creation plus the window', () => {
    fc.assert(
      fc.property(
        fc.record({
          direction: fc.constantFrom('Incoming', 'Outgoing', undefined, 'Other'),
          status: fc.constantFrom('New', 'Active', 'Closed', undefined),
          substatus: fc.constantFrom('Pending', 'Received', 'Accepted', 'Declined', undefined),
          createdDateTime: fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.string(),
          ),
          target: fc.oneof(
            fc.constant(null),
            fc.constant(msft),
            fc.constant(msft[0]),
            fc.array(fc.anything()),
          ),
        }),
        (raw) => {
          const referral = raw as unknown as Referral;
          microsoftAnswer(referral);
          const deadline = answerDeadline(referral);
          if (deadline) assert.equal(deadline.getTime() - Date.parse(raw.createdDateTime), ANSWER_WINDOW_MS);
        },
      ),
    );
  });
});
