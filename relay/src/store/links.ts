import type pg from 'pg';
import type { DealWriteState } from './dealWrites.ts';
import type { Queryable } from './transaction.ts';
import { withTransaction } from './transaction.ts';

export type SyncStatus = 'Synced' | 'Pending' | 'Error';

export interface Link {
  id: number;
  referralId: string | null;
  opportunityId: string | null;
  engagementId: string | null;
  accountId: string | null;
  referralEtag: string | null;
  referralUpdatedAt: Date | null;
  inboundValues: Record<string, unknown> | null;
  inboundFingerprint: string | null;
  outboundValues: Record<string, unknown> | null;
  outboundFingerprint: string | null;
  /** What an unfinished inbound write was to make both sides hold (000006_pending_values.sql). */
  pendingValues: Record<string, unknown> | null;
  /** The version of the last Opportunity state sent to Partner Center (000004_sync_versions.sql). */
  opportunityVersion: Date | null;
  syncStatus: SyncStatus;
  lastError: string | null;
  lastSyncedAt: Date | null;
  updatedAt: Date;
  /** The relay's writes to the Opportunity (dealWrites.ts). */
  dealWrites: DealWriteState;
  /** When the CRM record was deleted, until it is restored (000009_deal_deletes.sql). */
  dealDeletedAt: Date | null;
}

interface LinkRow {
  id: string;
  referral_id: string | null;
  opportunity_id: string | null;
  engagement_id: string | null;
  account_id: string | null;
  referral_etag: string | null;
  referral_updated_at: Date | null;
  inbound_values: Record<string, unknown> | null;
  inbound_fingerprint: string | null;
  outbound_values: Record<string, unknown> | null;
  outbound_fingerprint: string | null;
  pending_values: Record<string, unknown> | null;
  opportunity_version: Date | null;
  sync_status: SyncStatus;
  last_error: string | null;
  last_synced_at: Date | null;
  updated_at: Date;
  sf_write_seq: string;
  sf_writes_pending: number;
  sf_write_started_at: Date | null;
  sf_writes_landed: string | null;
  deal_deleted_at: Date | null;
}

function toLink(row: LinkRow): Link {
  return {
    id: Number(row.id),
    referralId: row.referral_id,
    opportunityId: row.opportunity_id,
    engagementId: row.engagement_id,
    accountId: row.account_id,
    referralEtag: row.referral_etag,
    referralUpdatedAt: row.referral_updated_at,
    inboundValues: row.inbound_values,
    inboundFingerprint: row.inbound_fingerprint,
    outboundValues: row.outbound_values,
    outboundFingerprint: row.outbound_fingerprint,
    pendingValues: row.pending_values ?? null,
    opportunityVersion: row.opportunity_version,
    syncStatus: row.sync_status,
    lastError: row.last_error,
    lastSyncedAt: row.last_synced_at,
    updatedAt: row.updated_at,
    dealWrites: {
      seq: Number(row.sf_write_seq),
      pending: row.sf_writes_pending,
      startedAt: row.sf_write_started_at,
      landed: row.sf_writes_landed === null ? null : Number(row.sf_writes_landed),
    },
    dealDeletedAt: row.deal_deleted_at ?? null,
  };
}

export async function findLinkByReferral(db: Queryable, referralId: string): Promise<Link | null> {
  const { rows } = await db.query<LinkRow>('select * from cosell.links where referral_id = $1', [referralId]);
  return rows[0] ? toLink(rows[0]) : null;
}

export async function findLinkByOpportunity(db: Queryable, opportunityId: string): Promise<Link | null> {
  const { rows } = await db.query<LinkRow>('select * from cosell.links where opportunity_id = $1', [
    opportunityId,
  ]);
  return rows[0] ? toLink(rows[0]) : null;
}

/** The link of a referral's engagement (a co-sell deal has our referral and Microsoft's). */
export async function findLinkByEngagement(db: Queryable, engagementId: string): Promise<Link | null> {
  const { rows } = await db.query<LinkRow>(
    'select * from cosell.links where engagement_id = $1 and referral_id is not null order by id limit 1',
    [engagementId],
  );
  return rows[0] ? toLink(rows[0]) : null;
}

export interface LinkUpdate {
  referralId?: string | null;
  opportunityId?: string | null;
  engagementId?: string | null;
  accountId?: string | null;
  referralEtag?: string | null;
  referralUpdatedAt?: Date | string | null;
  inboundValues?: Record<string, unknown> | null;
  inboundFingerprint?: string | null;
  outboundValues?: Record<string, unknown> | null;
  outboundFingerprint?: string | null;
  pendingValues?: Record<string, unknown> | null;
  opportunityVersion?: Date | null;
  syncStatus?: SyncStatus;
  lastError?: string | null;
  dealDeletedAt?: Date | null;
  synced?: boolean;
}

const COLUMNS: Record<Exclude<keyof LinkUpdate, 'synced'>, string> = {
  referralId: 'referral_id',
  opportunityId: 'opportunity_id',
  engagementId: 'engagement_id',
  accountId: 'account_id',
  referralEtag: 'referral_etag',
  referralUpdatedAt: 'referral_updated_at',
  inboundValues: 'inbound_values',
  inboundFingerprint: 'inbound_fingerprint',
  outboundValues: 'outbound_values',
  outboundFingerprint: 'outbound_fingerprint',
  pendingValues: 'pending_values',
  opportunityVersion: 'opportunity_version',
  syncStatus: 'sync_status',
  lastError: 'last_error',
  dealDeletedAt: 'deal_deleted_at',
};

/**
 * Creates or updates the link identified by the referral id or the opportunity id (whichever is
 * given; both when the pair is first completed). Unspecified columns keep their values.
 */
export async function saveLink(
  db: Queryable,
  key: { referralId?: string; opportunityId?: string; linkId?: number },
  given: LinkUpdate,
): Promise<Link> {
  // Saving the agreement ends what an unfinished write was about to agree.
  const update: LinkUpdate =
    given.outboundValues !== undefined && given.pendingValues === undefined
      ? { ...given, pendingValues: null }
      : given;
  const entries = Object.entries(update).filter(([k, v]) => k !== 'synced' && v !== undefined) as [
    Exclude<keyof LinkUpdate, 'synced'>,
    unknown,
  ][];
  const values: unknown[] = [];
  const sets = entries.map(([k, v]) => {
    values.push(v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v);
    return `${COLUMNS[k]} = $${values.length}`;
  });
  sets.push('updated_at = now()');
  if (update.synced) sets.push('last_synced_at = now()');
  let where: string;
  if (key.linkId !== undefined) {
    values.push(key.linkId);
    where = `id = $${values.length}`;
  } else if (key.referralId) {
    values.push(key.referralId);
    where = `referral_id = $${values.length}`;
  } else if (key.opportunityId) {
    values.push(key.opportunityId);
    where = `opportunity_id = $${values.length}`;
  } else throw new Error('saveLink needs a referral id, an opportunity id or a link id');
  const updated = await db.query<LinkRow>(
    `update cosell.links set ${sets.join(', ')} where ${where} returning *`,
    values,
  );
  if (updated.rows[0]) return toLink(updated.rows[0]);
  const insertCols = entries.map(([k]) => COLUMNS[k]);
  const insertVals = entries.map(([, v]) =>
    v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v,
  );
  if (key.referralId && !insertCols.includes('referral_id')) {
    insertCols.push('referral_id');
    insertVals.push(key.referralId);
  }
  if (key.opportunityId && !insertCols.includes('opportunity_id')) {
    insertCols.push('opportunity_id');
    insertVals.push(key.opportunityId);
  }
  if (update.synced) {
    insertCols.push('last_synced_at');
    insertVals.push(new Date());
  }
  const placeholders = insertVals.map((_, i) => `$${i + 1}`);
  const inserted = await db.query<LinkRow>(
    `insert into cosell.links (${insertCols.join(', ')}) values (${placeholders.join(', ')}) returning *`,
    insertVals,
  );
  return toLink(inserted.rows[0]);
}

/**
 * Makes one link of a referral and the Opportunity it turned out to belong to, before either is
 * written under the other's id. The relay may already keep a row for each half: the Opportunity's
 * from an outbound send that failed, the referral's from an inbound job that gave up. The
 * Opportunity's row stays (its outbound state belongs to the record) and takes the referral's id and
 * what the referral's row knew; the relay's count of its writes becomes unknown, since the referral's
 * row may hold writes to the record too (store/dealWrites.ts; unknown only costs a read).
 * Rows that pair either half with a third party are left alone: the caller reports that conflict.
 */
export async function pairLink(pool: pg.Pool, referralId: string, opportunityId: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<LinkRow>(
      'select * from cosell.links where referral_id = $1 or opportunity_id = $2 order by id for update',
      [referralId, opportunityId],
    );
    const byReferral = rows.find((row) => row.referral_id === referralId);
    const byOpportunity = rows.find((row) => row.opportunity_id === opportunityId);
    // Nothing kept for the Opportunity, already one row, or a half paired with a third party.
    if (!byOpportunity || byOpportunity === byReferral || byOpportunity.referral_id !== null) return;
    if (byReferral?.opportunity_id) return;
    if (!byReferral) {
      await client.query('update cosell.links set referral_id = $2, updated_at = now() where id = $1', [
        byOpportunity.id,
        referralId,
      ]);
    } else {
      await client.query('delete from cosell.links where id = $1', [byReferral.id]);
      await client.query(
        `update cosell.links set
           referral_id = $2,
           engagement_id = coalesce(engagement_id, $3),
           account_id = coalesce(account_id, $4),
           referral_etag = $5,
           referral_updated_at = $6,
           inbound_values = $7,
           inbound_fingerprint = $8,
           sf_write_seq = sf_write_seq + $9,
           sf_writes_pending = sf_writes_pending + $10,
           sf_write_started_at = greatest(sf_write_started_at, $11),
           sf_writes_landed = case when $9 > 0 then null else sf_writes_landed end,
           updated_at = now()
         where id = $1`,
        [
          byOpportunity.id,
          referralId,
          byReferral.engagement_id,
          byReferral.account_id,
          byReferral.referral_etag,
          byReferral.referral_updated_at,
          byReferral.inbound_values === null ? null : JSON.stringify(byReferral.inbound_values),
          byReferral.inbound_fingerprint,
          Number(byReferral.sf_write_seq),
          byReferral.sf_writes_pending,
          byReferral.sf_write_started_at,
        ],
      );
    }
  });
}

export async function listLinks(
  db: Queryable,
  options: { limit?: number; status?: SyncStatus } = {},
): Promise<Link[]> {
  const { rows } = await db.query<LinkRow>(
    `select * from cosell.links where ($1::text is null or sync_status = $1) order by updated_at desc limit $2`,
    [options.status ?? null, options.limit ?? 100],
  );
  return rows.map(toLink);
}

export async function countLinksByStatus(db: Queryable): Promise<Record<SyncStatus, number>> {
  const { rows } = await db.query<{ sync_status: SyncStatus; n: string }>(
    'select sync_status, count(*) as n from cosell.links group by sync_status',
  );
  const counts: Record<SyncStatus, number> = { Synced: 0, Pending: 0, Error: 0 };
  for (const row of rows) counts[row.sync_status] = Number(row.n);
  return counts;
}
