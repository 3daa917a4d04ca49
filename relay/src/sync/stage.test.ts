import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { categoryOfDeal, isTerminal, planStatusChange, stageForStatus, statusForDeal } from './stage.ts';
import { defaultMapping } from './testFixtures.ts';

const stages = defaultMapping.stages;

describe('stage rules', () => {
  it('maps referral statuses to the configured stages', () => {
    assert.equal(stageForStatus({ status: 'New', substatus: 'Pending' }, stages), 'Prospecting');
    assert.equal(stageForStatus({ status: 'New', substatus: 'Received' }, stages), 'Prospecting');
    assert.equal(stageForStatus({ status: 'Active', substatus: 'Accepted' }, stages), 'Qualification');
    assert.equal(stageForStatus({ status: 'Closed', substatus: 'Won' }, stages), 'Closed Won');
    for (const substatus of ['Lost', 'Declined', 'Expired']) {
      assert.equal(stageForStatus({ status: 'Closed', substatus }, stages), 'Closed Lost');
    }
    assert.equal(stageForStatus({ status: 'None', substatus: 'None' }, stages), null);
  });

  it('asks Partner Center to accept, win or lose according to the Opportunity', () => {
    assert.equal(
      statusForDeal({ StageName: 'Prospecting', IsClosed: false, IsWon: false }, defaultMapping),
      null,
    );
    assert.deepEqual(statusForDeal({ StageName: 'Negotiation/Review' }, defaultMapping), {
      status: 'Active',
      substatus: 'Accepted',
    });
    assert.deepEqual(statusForDeal({ StageName: 'Signed', IsClosed: true, IsWon: true }, defaultMapping), {
      status: 'Closed',
      substatus: 'Won',
    });
    assert.deepEqual(statusForDeal({ StageName: 'Dead', IsClosed: true, IsWon: false }, defaultMapping), {
      status: 'Closed',
      substatus: 'Lost',
    });
    assert.equal(categoryOfDeal({ StageName: 'Closed Won' }, defaultMapping), 'won');
  });

  it('treats Closed and every terminal substatus as terminal', () => {
    assert.equal(isTerminal({ status: 'Closed', substatus: 'Won' }), true);
    assert.equal(isTerminal({ status: 'Closed', substatus: 'Expired' }), true);
    assert.equal(isTerminal({ status: 'Active', substatus: 'Accepted' }), false);
    assert.equal(isTerminal({ status: 'New', substatus: 'Pending' }), false);
  });

  it('plans the allowed transitions as status and substatus replaces', () => {
    assert.deepEqual(
      planStatusChange({ status: 'New', substatus: 'Pending' }, { status: 'Active', substatus: 'Accepted' }),
      {
        kind: 'change',
        ops: [
          { op: 'replace', path: '/status', value: 'Active' },
          { op: 'replace', path: '/substatus', value: 'Accepted' },
        ],
      },
    );
    assert.equal(
      planStatusChange({ status: 'New', substatus: 'Pending' }, { status: 'Closed', substatus: 'Lost' }).kind,
      'change',
    );
    assert.equal(
      planStatusChange({ status: 'Active', substatus: 'Accepted' }, { status: 'Closed', substatus: 'Won' })
        .kind,
      'change',
    );
    assert.deepEqual(
      planStatusChange(
        { status: 'Active', substatus: 'Accepted' },
        { status: 'Active', substatus: 'Accepted' },
      ),
      {
        kind: 'none',
      },
    );
    assert.deepEqual(planStatusChange({ status: 'Active', substatus: 'Accepted' }, null), { kind: 'none' });
  });

  it('refuses moving back, a substatus the status does not allow, and leaving a terminal state', () => {
    const back = planStatusChange(
      { status: 'Active', substatus: 'Accepted' },
      { status: 'New', substatus: 'Pending' },
    );
    assert.equal(back.kind, 'refused');
    const wrongSubstatus = planStatusChange(
      { status: 'New', substatus: 'Pending' },
      { status: 'Active', substatus: 'Won' },
    );
    assert.deepEqual(wrongSubstatus, {
      kind: 'refused',
      reason: 'substatus Won is not allowed with status Active',
    });
    const terminal = planStatusChange(
      { status: 'Closed', substatus: 'Lost' },
      { status: 'Closed', substatus: 'Won' },
    );
    assert.deepEqual(terminal, {
      kind: 'refused',
      reason: 'referral is Closed/Lost, a terminal state; it cannot move to Closed/Won',
    });
  });
});
