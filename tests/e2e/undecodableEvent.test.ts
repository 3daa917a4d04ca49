import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keepUndecodableEvents, UNDECODABLE_EVENT_TASK } from '../../relay/src/jobs/undecodableEvent.ts';
import { withTransaction } from '../../relay/src/store/transaction.ts';
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

  it('decodes a kept event on retry once its bytes decode, and queues the Opportunity sync', async () => {
    const ops = system.relay.operations;
    const schema = system.sandboxes.pubsub.schemaFor(system.config.SF_EVENT_TOPIC);
    const opportunityId = '006Sb0000000RetryAAA';
    // What a fixed schema amounts to: bytes kept earlier now decode.
    const bytes = schema.type.toBuffer({
      ...Object.fromEntries(schema.fields.map((field) => [field.name, null])),
      Opportunity_Id__c: opportunityId,
      Change_Kind__c: 'Updated',
      Changed_Fields__c: 'Amount',
      CreatedById: '005Sb0000000002AAA',
      CreatedDate: Date.now(),
    });
    await withTransaction(system.relay.database.pool, (client) =>
      keepUndecodableEvents(
        client,
        [
          {
            eventId: 'kept-event-1',
            position: Buffer.from('0a0b', 'hex'),
            schemaId: schema.schemaId,
            payload: bytes,
            reason: 'schema mismatch',
          },
        ],
        { maxAttempts: 3 },
      ),
    );
    const deadLetter = await waitFor(
      async () =>
        (await ops.listFailedJobs()).find(
          (job) => (job.payload as UndecodableEventPayload).eventId === 'kept-event-1',
        ),
      { message: 'the kept event among the dead letters' },
    );
    assert.equal(await ops.retryJob(deadLetter.id), true);
    const decoded = await waitFor(
      async () =>
        (await ops.listAudit({ opportunityId })).find((line) =>
          /kept-event-1 decoded on retry/.test(line.message),
        ),
      { message: 'the decoded retry in the audit log' },
    );
    // enqueueSyncJobs returned the id of the job it inserted for the Opportunity.
    assert.match(decoded.message, /sync job \d+ queued/);
    assert.ok(!(await ops.listFailedJobs()).some((job) => job.id === deadLetter.id));
  });
});
