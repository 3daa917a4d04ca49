import type { Queryable } from './transaction.ts';

/**
 * Claims the notification `kind` for `subject`: true the first time, false once any job or
 * instance has claimed it (000008_notifications.sql).
 */
export async function claimNotification(db: Queryable, kind: string, subject: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'insert into cosell.notifications_sent (kind, subject) values ($1, $2) on conflict do nothing',
    [kind, subject],
  );
  return rowCount === 1;
}
