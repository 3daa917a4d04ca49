import { fromAuditRow } from './audit.ts';
import type { AuditEvent, AuditRow } from './audit.ts';
import type { SyncStatus } from './links.ts';
import type { Queryable } from './transaction.ts';

/** A link as the dashboard lists it: ids, name and sync state, without the synced values. */
export interface LinkSummary {
  id: number;
  referralId: string | null;
  opportunityId: string | null;
  /** The Opportunity name the pair was last synced with (migration 000005). */
  name: string | null;
  syncStatus: SyncStatus;
  lastError: string | null;
  lastSyncedAt: Date | null;
  updatedAt: Date;
}

export interface LinkSearch {
  /** A referral id, an Opportunity id (15 or 18 characters) or part of the name. */
  q?: string;
  status?: SyncStatus;
  /** Cursor of the last row of the page before: the next, older page. */
  after?: string;
  /** Cursor of the first row of the page after: the previous, newer page. */
  before?: string;
  limit: number;
}

export interface LinkPage {
  links: LinkSummary[];
  /** Links matching q and status, on every page. */
  total: number;
  /** Cursor for `after` when older rows follow, else null. */
  next: string | null;
  /** Cursor for `before` when newer rows precede, else null. */
  prev: string | null;
}

const CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)_(\d{1,18})$/;

/** Whether `value` is a cursor this module made (checked before it reaches SQL). */
export function isCursor(value: string): boolean {
  return CURSOR.test(value);
}

interface Row {
  id: string;
  referral_id: string | null;
  opportunity_id: string | null;
  display_name: string | null;
  sync_status: SyncStatus;
  last_error: string | null;
  last_synced_at: Date | null;
  updated_at: Date;
  cursor: string;
}

/**
 * One page of links, newest change first, by keyset on (updated_at, id) so a page is an index range
 * scan however deep the operator pages (an offset would read every row before it) and rows changing
 * meanwhile are neither skipped nor repeated. Ids match exactly, through the unique indexes; a name
 * matches as a case-insensitive substring, which reads every row's name: at 10,000 links that is a
 * few milliseconds, and cheaper to keep than a trigram index (pg_trgm is not on every host).
 */
export async function searchLinks(db: Queryable, search: LinkSearch): Promise<LinkPage> {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const where: string[] = [];
  if (search.status) where.push(`sync_status = ${param(search.status)}`);
  const q = search.q?.trim();
  if (q) {
    const exact = param(q);
    const ors = [`referral_id = ${exact}`, `opportunity_id = ${exact}`];
    // Salesforce shows 15-character ids in some places; the relay keeps the 18-character form.
    if (/^[A-Za-z0-9]{15}$/.test(q)) ors.push(`left(opportunity_id, 15) = ${exact}`);
    ors.push(`display_name ilike ${param(`%${q.replace(/[\\%_]/g, '\\$&')}%`)}`);
    where.push(`(${ors.join(' or ')})`);
  }
  const filter = where.length > 0 ? `where ${where.join(' and ')}` : '';
  const countValues = [...values];

  const cursor = search.before ?? search.after;
  const backwards = search.before !== undefined;
  const page = [...where];
  if (cursor) {
    const match = CURSOR.exec(cursor);
    if (!match) throw new Error(`${backwards ? 'before' : 'after'}: not a link cursor`);
    page.push(
      `(updated_at, id) ${backwards ? '>' : '<'} (${param(match[1])}::timestamptz, ${param(match[2])}::bigint)`,
    );
  }
  const order = backwards ? 'asc' : 'desc';
  const [{ rows }, counted] = await Promise.all([
    db.query<Row>(
      `select id, referral_id, opportunity_id, display_name, sync_status, last_error, last_synced_at, updated_at,
              to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '_' || id as cursor
         from cosell.links ${page.length > 0 ? `where ${page.join(' and ')}` : ''}
        order by updated_at ${order}, id ${order} limit ${param(search.limit + 1)}`,
      values,
    ),
    db.query<{ n: string }>(`select count(*) as n from cosell.links ${filter}`, countValues),
  ]);
  const more = rows.length > search.limit;
  const shown = rows.slice(0, search.limit);
  if (backwards) shown.reverse();
  const first = shown[0];
  const last = shown.at(-1);
  return {
    links: shown.map(toSummary),
    total: Number(counted.rows[0]?.n ?? 0),
    next: last && (backwards || more) ? last.cursor : null,
    prev: first && (backwards ? more : cursor !== undefined) ? first.cursor : null,
  };
}

function toSummary(r: Row): LinkSummary {
  return {
    id: Number(r.id),
    referralId: r.referral_id,
    opportunityId: r.opportunity_id,
    name: r.display_name,
    syncStatus: r.sync_status,
    lastError: r.last_error,
    lastSyncedAt: r.last_synced_at,
    updatedAt: r.updated_at,
  };
}

export interface LinkDetail extends LinkSummary {
  engagementId: string | null;
  referralUpdatedAt: Date | null;
  /** The mapped values both sides last agreed on (canonical, by mapping field name). */
  syncedValues: Record<string, unknown> | null;
}

export async function findLinkDetail(db: Queryable, id: number): Promise<LinkDetail | null> {
  const { rows } = await db.query<
    Row & {
      engagement_id: string | null;
      referral_updated_at: Date | null;
      outbound_values: Record<string, unknown> | null;
    }
  >(
    `select id, referral_id, opportunity_id, display_name, sync_status, last_error, last_synced_at, updated_at,
            engagement_id, referral_updated_at, outbound_values
       from cosell.links where id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    ...toSummary(r),
    engagementId: r.engagement_id,
    referralUpdatedAt: r.referral_updated_at,
    syncedValues: r.outbound_values,
  };
}

/** The audit events of either half of a pair, newest first (both ids are indexed). */
export async function listPairAudit(
  db: Queryable,
  referralId: string | null,
  opportunityId: string | null,
  limit: number,
): Promise<AuditEvent[]> {
  const { rows } = await db.query<AuditRow>(
    `select * from cosell.audit_events where referral_id = $1 or opportunity_id = $2
      order by at desc, id desc limit $3`,
    [referralId, opportunityId, limit],
  );
  return rows.map(fromAuditRow);
}
