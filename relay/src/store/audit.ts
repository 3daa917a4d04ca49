import type { Queryable } from './transaction.ts';

export interface AuditEvent {
  id: number;
  at: Date;
  direction: 'inbound' | 'outbound' | 'system';
  level: 'INFO' | 'ERROR';
  referralId: string | null;
  opportunityId: string | null;
  jobId: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

export type NewAuditEvent = Omit<
  AuditEvent,
  'id' | 'at' | 'referralId' | 'opportunityId' | 'jobId' | 'details'
> & {
  referralId?: string | null;
  opportunityId?: string | null;
  jobId?: string | null;
  details?: Record<string, unknown> | null;
};

export async function recordAudit(db: Queryable, event: NewAuditEvent): Promise<void> {
  await db.query(
    `insert into cosell.audit_events (direction, level, referral_id, opportunity_id, job_id, message, details)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [
      event.direction,
      event.level,
      event.referralId ?? null,
      event.opportunityId ?? null,
      event.jobId ?? null,
      event.message,
      event.details ? JSON.stringify(event.details) : null,
    ],
  );
}

export interface AuditRow {
  id: string;
  at: Date;
  direction: AuditEvent['direction'];
  level: AuditEvent['level'];
  referral_id: string | null;
  opportunity_id: string | null;
  job_id: string | null;
  message: string;
  details: Record<string, unknown> | null;
}

export async function listAudit(
  db: Queryable,
  filter: { referralId?: string; opportunityId?: string; level?: 'INFO' | 'ERROR'; limit?: number } = {},
): Promise<AuditEvent[]> {
  const { rows } = await db.query<AuditRow>(
    `select * from cosell.audit_events
      where ($1::text is null or referral_id = $1)
        and ($2::text is null or opportunity_id = $2)
        and ($3::text is null or level = $3)
      order by at desc, id desc limit $4`,
    [filter.referralId ?? null, filter.opportunityId ?? null, filter.level ?? null, filter.limit ?? 100],
  );
  return rows.map(fromAuditRow);
}

/** One audit_events row as the API shows it. */
export function fromAuditRow(r: AuditRow): AuditEvent {
  return {
    id: Number(r.id),
    at: r.at,
    direction: r.direction,
    level: r.level,
    referralId: r.referral_id,
    opportunityId: r.opportunity_id,
    jobId: r.job_id,
    message: r.message,
    details: r.details,
  };
}

/** The newest audit event's id (0 for none): where a later `listAuditAfter` starts. */
export async function latestAuditId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: string | null }>('select max(id) as id from cosell.audit_events');
  return Number(rows[0]?.id ?? 0);
}

/** Audit events about a referral or an Opportunity recorded after event `afterId`, oldest first. */
export async function listAuditAfter(
  db: Queryable,
  filter: { referralId?: string | null; opportunityId?: string | null; afterId: number; limit?: number },
): Promise<AuditEvent[]> {
  const { rows } = await db.query<AuditRow>(
    `select * from cosell.audit_events
      where id > $3 and (referral_id = $1 or opportunity_id = $2)
      order by id limit $4`,
    [filter.referralId ?? null, filter.opportunityId ?? null, filter.afterId, filter.limit ?? 50],
  );
  return rows.map(fromAuditRow);
}
