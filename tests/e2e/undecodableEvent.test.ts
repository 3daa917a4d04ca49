import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UNDECODABLE_EVENT_TASK } from '../../relay/src/jobs/undecodableEvent.ts';
import type { UndecodableEventPayload } from '../../relay/src/jobs/undecodableEvent.ts';
import { startTestSystem } from '../support/relayHarness.ts';
import type { TestSystem } from '../support/relayHarness.ts';
import { waitFor } from '../support/waitFor.ts';

/** A Pub/Sub event whose payload does not decode is kept, not only logged. */
describe('outbound: an event that does not decode', () => {
  let system: TestSystem;

  before(async () => {
    system = await startTestSystem({ env: { RECONCILE_CRON: '0 0 1 1 *' } });
  });
  after(() => system?.stop());

  it('keeps an undecodable event as an audit line and a dead letter with its bytes, retryable and droppable', async () => {
    const ops = system.relay.operations;
    const garbage = Buffer.from('not avro at all \u0000\u00ff', 'latin1');
    const published = system.sandboxes.pubsub.publishBytes(system.config.SF_EVENT_TOPIC, garbage);

    const deadLetter = await waitFor(
      async () =>
        (await ops.listFailedJobs()).find(
          (job) =>
            job.task === UNDECODABLE_EVENT_TASK &&
            (job.payload as UndecodableEventPayload).eventId === published.eventId,
        ),
      { message: 'the dead letter of the undecodable event' },
    );
    const kept = deadLetter.payload as UndecodableEventPayload;
    assert.deepEqual(Buffer.from(kept.payload, 'base64'), garbage);
    assert.equal(kept.replayId, published.replayId.toString('hex'));
    assert.match(deadLetter.lastError ?? '', /does not decode/);
    const audit = await ops.listAudit({ level: 'ERROR' });
    assert.ok(
      audit.some((line) => line.message.includes(published.eventId) && line.jobId === deadLetter.id),
      'an ERROR audit line names the event and its dead letter',
    );
    // Retried while the bytes still do not decode: back among the dead letters, with the reason.
    assert.equal(await ops.retryJob(deadLetter.id), true);
    await waitFor(
      async () =>
        (await ops.listFailedJobs()).find(
          (job) => job.id === deadLetter.id && /still does not decode/.test(job.lastError ?? ''),
        ),
      { message: 'the retried event back among the dead letters' },
    );
    assert.equal(await ops.dropJob(deadLetter.id), true);
    assert.ok(!(await ops.listFailedJobs()).some((job) => job.id === deadLetter.id));
  });
});
