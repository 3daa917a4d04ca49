/**
 * The pair's lifecycle: every change the sync jobs make to a link row is one of these named
 * transitions, so one file says what a row becomes after each outcome. The row itself is written by
 * store/links.ts; which columns move, and to what, is decided here.
 *
 *   (none) ──paired──▶ Pending ──syncedInbound / syncedOutbound / createdOutbound──▶ Synced
 *   Synced ──referralUnchanged──▶ Synced (only the referral's version moves on)
 *   any ──refused (invalid data, a terminal referral) / gaveUp (a job out of attempts)──▶ Error
 *   Error ──synced*──▶ Synced
 *   any ──dealDeleted──▶ Error, marked deleted ──dealRestored──▶ (unmarked; the next sync decides)
 */
import type { Referral } from '../sync/referral.ts';
import { pairLink, saveLink } from '../store/links.ts';
import type { Link } from '../store/links.ts';
import type { Queryable } from '../store/transaction.ts';
import type pg from 'pg';

type Values = Record<string, unknown>;

/** The referral's version as the link keeps it (the inbound version guard compares against it). */
function referralVersion(referral: Pick<Referral, 'eTag' | 'updatedDateTime'>) {
  return {
    referralEtag: (referral.eTag as string | undefined) ?? null,
    referralUpdatedAt: (referral.updatedDateTime as string | undefined) ?? null,
  };
}

/** A successful sync: the agreement is saved and the last error cleared. */
const SYNCED = { syncStatus: 'Synced', lastError: null, synced: true } as const;

/** Inbound: nothing mapped changed in the referral; only its version moves on. */
export function referralUnchanged(db: Queryable, referral: Referral): Promise<Link> {
  return saveLink(db, { referralId: referral.id as string }, referralVersion(referral));
}

/** Inbound: the Opportunity holds the referral's values (written now, or already). */
export function syncedInbound(
  db: Queryable,
  referral: Referral,
  outcome: {
    opportunityId: string;
    accountId: string | null;
    /** The mapped values and their fingerprint: the next delivery of the same referral writes nothing. */
    inboundValues: Values;
    inboundFingerprint: string;
    /** What both sides hold now, by mapping entry (the seller's unsent edits keep their agreed value). */
    agreed: Values;
  },
): Promise<Link> {
  return saveLink(
    db,
    { referralId: referral.id as string },
    {
      ...referralVersion(referral),
      opportunityId: outcome.opportunityId,
      accountId: outcome.accountId,
      inboundValues: outcome.inboundValues,
      inboundFingerprint: outcome.inboundFingerprint,
      outboundValues: outcome.agreed,
      ...SYNCED,
    },
  );
}

/**
 * Outbound: the referral is known for the Opportunity (adopted from an earlier attempt's POST, or
 * just created) but nothing is agreed by a finished sync yet, so the next job checks the id, the
 * link and the referral for Microsoft. `agreed`: what the POST sent, when this job made it.
 */
export function paired(
  db: Queryable,
  opportunityId: string,
  referral: Referral,
  inboundFingerprint: string,
  agreed?: Values,
): Promise<Link> {
  return saveLink(
    db,
    { opportunityId },
    {
      referralId: referral.id as string,
      engagementId: (referral.engagementId as string | undefined) ?? null,
      inboundFingerprint,
      outboundFingerprint: null,
      syncStatus: 'Pending',
      ...(agreed ? { outboundValues: agreed } : {}),
    },
  );
}

/**
 * Outbound: the referral was created, or updated, from the Opportunity. `inboundFingerprint` is
 * left as it was (undefined) when Partner Center holds changes of its own this sync did not agree
 * on: the inbound sync then still brings them over.
 */
export function syncedOutbound(
  db: Queryable,
  opportunityId: string,
  referral: Referral,
  outcome: {
    inboundFingerprint: string | undefined;
    agreed: Values;
    outboundFingerprint: string;
    /** The Opportunity state sent (the outbound version guard compares against it). */
    opportunityVersion?: Date;
    /** On a create: the engagement the new referral belongs to. */
    engagementId?: string | null;
  },
): Promise<Link> {
  return saveLink(
    db,
    { opportunityId },
    {
      referralId: referral.id as string,
      ...(outcome.engagementId === undefined ? {} : { engagementId: outcome.engagementId }),
      ...referralVersion(referral),
      inboundFingerprint: outcome.inboundFingerprint,
      outboundValues: outcome.agreed,
      outboundFingerprint: outcome.outboundFingerprint,
      ...(outcome.opportunityVersion ? { opportunityVersion: outcome.opportunityVersion } : {}),
      ...SYNCED,
    },
  );
}

/**
 * Outbound: the Opportunity cannot be sent as it is (data the referral refuses, or a referral in a
 * terminal state). The fingerprint lets the next job with the same values report it once, not again.
 */
export function refused(
  db: Queryable,
  opportunityId: string,
  reason: string,
  outboundFingerprint: string,
  referralId?: string,
): Promise<Link> {
  return saveLink(
    db,
    { opportunityId },
    { ...(referralId ? { referralId } : {}), syncStatus: 'Error', lastError: reason, outboundFingerprint },
  );
}

/** Either direction: the job gave up on the record (its dead letter says the rest). */
export function gaveUp(
  db: Queryable,
  key: { referralId?: string; opportunityId?: string },
  reason: string,
): Promise<Link> {
  return saveLink(db, key, { syncStatus: 'Error', lastError: reason });
}

/** Inbound: the referral turned out to belong to an Opportunity the relay keeps a row for alone. */
export function joined(pool: pg.Pool, referralId: string, opportunityId: string): Promise<void> {
  return pairLink(pool, referralId, opportunityId);
}

/** Outbound: the CRM record was deleted; `outcome` says what the delete rule did to the referral. */
export function dealDeleted(db: Queryable, opportunityId: string, outcome: string): Promise<Link> {
  return saveLink(
    db,
    { opportunityId },
    { dealDeletedAt: new Date(), syncStatus: 'Error', lastError: outcome },
  );
}

/** Outbound: the deleted CRM record was restored; the sync that follows decides the status. */
export function dealRestored(db: Queryable, opportunityId: string): Promise<Link> {
  return saveLink(db, { opportunityId }, { dealDeletedAt: null, lastError: null });
}
