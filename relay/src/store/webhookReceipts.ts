import type pg from 'pg';
import { coalescedRunAt, enqueue, TASKS } from './queue.ts';

export interface DeliveryKey {
  eventName: string;
  referralId: string;
  changeDate: string;
}

/**
 * Records a webhook delivery and adds its job in one transaction. A repeated delivery (same event
 * name, referral and ResourceChangeUtcDate) finds its receipt and adds nothing.
 */
export async function acceptDelivery(
  pool: pg.Pool,
  delivery: DeliveryKey,
  options: { maxAttempts: number; coalesceMs: number },
): Promise<{ duplicate: boolean; jobId?: string }> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const inserted = await client.query(
      `insert into cosell.webhook_receipts (event_name, referral_id, change_date) values ($1, $2, $3)
       on conflict do nothing`,
      [delivery.eventName, delivery.referralId, delivery.changeDate],
    );
    if (inserted.rowCount === 0) {
      await client.query('rollback');
      return { duplicate: true };
    }
    const jobKey = `pc:${delivery.referralId}`;
    const synced = await client.query<{ last_synced_at: Date | null }>(
      'select last_synced_at from cosell.links where referral_id = $1',
      [delivery.referralId],
    );
    const runAt = await coalescedRunAt(client, jobKey, synced.rows[0]?.last_synced_at ?? null, options.coalesceMs);
    const jobId = await enqueue(
      client,
      TASKS.referralChanged,
      { referralId: delivery.referralId, reason: 'webhook', eventName: delivery.eventName },
      { jobKey, maxAttempts: options.maxAttempts, runAt, keyMode: 'preserve_run_at' },
    );
    await client.query('commit');
    return { duplicate: false, jobId };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function pruneReceipts(pool: pg.Pool, olderThanDays: number): Promise<number> {
  const { rowCount } = await pool.query(
    `delete from cosell.webhook_receipts where received_at < now() - make_interval(days => $1)`,
    [olderThanDays],
  );
  return rowCount ?? 0;
}
