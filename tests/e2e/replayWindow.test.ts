import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RECEIPT_RETENTION_DAYS } from '../../relay/src/store/webhookReceipts.ts';
import { sampleReferral, startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import {
  captureDelivery,
  jobsForReferral,
  postDelivery,
  receiptsForReferral,
  referralIdOf,
} from '../support/inboundChecks.ts';

/**
 * Receipts are pruned after the retention, so a delivery replayed later would find none and be
 * processed again. Here the Partner Center sandbox's clock runs a retention and a day behind the
 * relay's: every change it signs is as old as such a replay.
 */
describe('webhook intake: the replay window', () => {
  let system: TestSystem;
  const behindMs = (RECEIPT_RETENTION_DAYS + 1) * 86_400_000;

  before(async () => {
    system = await startTestSystem({
      env: { RECONCILE_CRON: '0 0 1 1 *' },
      sandboxes: { partnerCenter: { now: () => new Date(Date.now() - behindMs) } },
    });
  });
  after(() => system?.stop());

  it('acknowledges and ignores a signed delivery whose ResourceChangeUtcDate is older than the receipt retention', async () => {
    const delivery = captureDelivery(system.sandboxes, () =>
      system.sandboxes.partnerCenter.referrals.createAsMicrosoft(sampleReferral({ name: 'Replayed' })),
    );
    const changedAt = (JSON.parse(delivery.body) as { ResourceChangeUtcDate: string }).ResourceChangeUtcDate;
    assert.ok(Date.now() - Date.parse(changedAt) > RECEIPT_RETENTION_DAYS * 86_400_000, changedAt);

    const answer = await postDelivery(system.relay.url, delivery.body, delivery.headers);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.status, 'ignored');
    const referralId = referralIdOf(delivery);
    const pool = system.relay.database.pool;
    assert.equal(await receiptsForReferral(pool, referralId), 0, 'no receipt stored');
    assert.equal(await jobsForReferral(pool, referralId), 0, 'no job enqueued');
    // Sent again (Partner Center's retry, or the replay once more): still nothing.
    const again = await postDelivery(system.relay.url, delivery.body, delivery.headers);
    assert.equal(again.body.status, 'ignored');
    assert.equal(await jobsForReferral(pool, referralId), 0);
  });
});
