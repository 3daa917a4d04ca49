import type pg from 'pg';
import { enqueueSyncJobs } from './queue.ts';
import { withTransaction } from './transaction.ts';

export interface DeliveryKey {
  eventName: string;
  referralId: string;
  changeDate: string;
}

export interface DeliveryResult {
  duplicate: boolean;
  jobId?: string;
}

export interface IntakeOptions {
  maxAttempts: number;
  coalesceMs: number;
}

/**
 * Deliveries older than this (by ResourceChangeUtcDate) are refused at intake, so a receipt may be
 * pruned once it is older than this plus a day: a replay of its delivery can no longer be taken
 * for new, even with a day of clock difference between Partner Center and the relay.
 */
export const RECEIPT_RETENTION_DAYS = 14;

const keyOf = (d: DeliveryKey) => `${d.eventName}\u0000${d.referralId}\u0000${d.changeDate}`;

/**
 * Records webhook deliveries and adds their jobs in one transaction. A repeated delivery (same
 * event name, referral and ResourceChangeUtcDate) finds its receipt and adds nothing. Results come
 * back in the order of `deliveries`.
 */
export async function acceptDeliveries(
  pool: pg.Pool,
  deliveries: DeliveryKey[],
  options: IntakeOptions,
): Promise<DeliveryResult[]> {
  const { fresh, jobIds } = await withTransaction(pool, async (client) => {
    const inserted = await client.query<{ event_name: string; referral_id: string; change_date: string }>(
      `insert into cosell.webhook_receipts (event_name, referral_id, change_date)
       select * from unnest($1::text[], $2::text[], $3::text[])
       on conflict do nothing
       returning event_name, referral_id, change_date`,
      [
        deliveries.map((d) => d.eventName),
        deliveries.map((d) => d.referralId),
        deliveries.map((d) => d.changeDate),
      ],
    );
    const fresh = new Set(
      inserted.rows.map((r) =>
        keyOf({ eventName: r.event_name, referralId: r.referral_id, changeDate: r.change_date }),
      ),
    );
    // One job per referral however many of its deliveries arrived together.
    const byReferral = new Map<string, DeliveryKey>();
    for (const d of deliveries)
      if (fresh.has(keyOf(d)) && !byReferral.has(d.referralId)) byReferral.set(d.referralId, d);
    const jobIds = await enqueueSyncJobs(
      client,
      'referral',
      [...byReferral.values()].map((d) => ({
        id: d.referralId,
        payload: { referralId: d.referralId, reason: 'webhook', eventName: d.eventName },
      })),
      options,
    );
    return { fresh, jobIds };
  });
  const claimed = new Set<string>();
  return deliveries.map((d) => {
    const key = keyOf(d);
    if (!fresh.has(key) || claimed.has(key)) return { duplicate: true };
    claimed.add(key);
    return { duplicate: false, jobId: jobIds.get(d.referralId) };
  });
}

export async function acceptDelivery(
  pool: pg.Pool,
  delivery: DeliveryKey,
  options: IntakeOptions,
): Promise<DeliveryResult> {
  return (await acceptDeliveries(pool, [delivery], options))[0];
}

export interface DeliveryIntake {
  accept(delivery: DeliveryKey): Promise<DeliveryResult>;
  /** Waits for every delivery handed in so far to be committed (or to fail). */
  drain(): Promise<void>;
}

/**
 * Group commit for webhook intake. Each committed transaction that adds jobs sends a NOTIFY, and
 * PostgreSQL serialises commits that notify, so one transaction per delivery caps intake far below
 * what the database can do. Deliveries that arrive while a commit is in flight wait for it and then
 * share the next transaction; a lone delivery is committed at once. Each request still answers
 * only after its own delivery is durable.
 */
export function createDeliveryIntake(
  pool: pg.Pool,
  options: IntakeOptions & { maxBatch?: number },
): DeliveryIntake {
  const maxBatch = options.maxBatch ?? 500;
  let queue: Array<{ delivery: DeliveryKey; resolve(r: DeliveryResult): void; reject(e: unknown): void }> =
    [];
  let committing: Promise<void> | null = null;

  const commitNext = (): Promise<void> | null => {
    if (queue.length === 0) return null;
    const batch = queue.slice(0, maxBatch);
    queue = queue.slice(batch.length);
    return acceptDeliveries(
      pool,
      batch.map((b) => b.delivery),
      options,
    ).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i])),
      (error: unknown) => batch.forEach((b) => b.reject(error)),
    );
  };
  const pump = () => {
    if (committing) return;
    const next = commitNext();
    if (!next) return;
    committing = next.finally(() => {
      committing = null;
      pump();
    });
  };

  return {
    accept: (delivery) =>
      new Promise<DeliveryResult>((resolve, reject) => {
        queue.push({ delivery, resolve, reject });
        pump();
      }),
    async drain() {
      while (committing) await committing;
    },
  };
}

export async function pruneReceipts(
  pool: pg.Pool,
  olderThanDays: number = RECEIPT_RETENTION_DAYS + 1,
): Promise<number> {
  const { rowCount } = await pool.query(
    `delete from cosell.webhook_receipts where received_at < now() - make_interval(days => $1)`,
    [olderThanDays],
  );
  return rowCount ?? 0;
}
