import type { Task } from 'graphile-worker';
import { describeError, isRelayError, RelayError } from '../errors.ts';
import type { Referral } from '../sync/referral.ts';
import { recordAudit } from '../store/audit.ts';
import { enqueueSyncJobs } from '../store/queue.ts';
import type { Queryable } from '../store/transaction.ts';
import { findLinkByEngagement, findLinkByOpportunity, findLinkByReferral } from '../store/links.ts';
import {
  agreedSoFar,
  canonicalFromOpportunity,
  canonicalFromReferral,
  diffOpportunity,
  fingerprint,
  formatAuditLine,
  inboundPausedEntries,
  mappedOpportunityFields,
  mapReferralToOpportunity,
  namesOpportunity,
  salesforceHeldFields,
  decideInbound,
} from '../sync/index.ts';
import type { FieldMapping } from '../sync/index.ts';
import { noticeArrival, noticeMicrosoftAnswer } from './notices.ts';
import { writeOpportunity } from './opportunityWrites.ts';
import { joined, referralUnchanged, syncedInbound } from './pairLifecycle.ts';
import { loggedRetry } from './retry.ts';
import { syncTask } from './syncTask.ts';
import { isOlderThan } from './versions.ts';
import { relayFields } from './syncContext.ts';
import type { SyncContext } from './syncContext.ts';

export interface ReferralChangedPayload {
  referralId: string;
  /** `related`: the other side of the referral's engagement changed. */
  reason: 'webhook' | 'reconcile' | 'backfill' | 'retry' | 'related' | 'sync-now';
  eventName?: string;
  /** Sync now: read both sides and compare even when the referral looks unchanged since the last sync. */
  force?: boolean;
}

export type InboundOutcome = 'created' | 'updated' | 'unchanged' | 'not-found' | 'related';

function parsePayload(payload: unknown): ReferralChangedPayload {
  const p = payload as Partial<ReferralChangedPayload> | null;
  if (!p || typeof p.referralId !== 'string' || p.referralId.length === 0) {
    throw new RelayError('REQUEST_INVALID', 'inbound-referral-changed job payload needs a referralId');
  }
  return {
    referralId: p.referralId,
    reason: p.reason ?? 'webhook',
    eventName: p.eventName,
    ...(p.force === true ? { force: true } : {}),
  };
}

/**
 * The values the relay writes for a referral, fingerprinted. When a referral's mapped values equal
 * what was last written (an echo of our own PATCH, a duplicate delivery, an unrelated field), the
 * sync stops here with no Salesforce call at all.
 */
export function inboundFingerprint(referral: Referral, ctx: Pick<SyncContext, 'mapping'>): string {
  const mapped = mapReferralToOpportunity(referral, ctx.mapping);
  return fingerprint(mapped);
}

/** `value` when it is a Salesforce Opportunity id (key prefix 006, 15 or 18 characters). */
function opportunityIdIn(value: unknown): string | null {
  return typeof value === 'string' && /^006[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(value) ? value : null;
}

/**
 * The referral of ours in the same engagement as `referral`, when the relay links one: the
 * Opportunity its externalReferenceId names (the referral we POSTed "for Microsoft" carries our
 * Opportunity id too), or a link in its engagement.
 */
async function ownReferralFor(ctx: SyncContext, referral: Referral): Promise<string | null> {
  const byOpportunity =
    typeof referral.externalReferenceId === 'string' && referral.externalReferenceId.length > 0
      ? await findLinkByOpportunity(ctx.pool, referral.externalReferenceId)
      : null;
  const byEngagement =
    !byOpportunity && typeof referral.engagementId === 'string'
      ? await findLinkByEngagement(ctx.pool, referral.engagementId)
      : null;
  return (byOpportunity ?? byEngagement)?.referralId ?? null;
}

/** Queues a Sync now of the referral's inbound side (forced, at once); returns the job's id. */
export async function enqueueReferralSyncNow(
  db: Queryable,
  referralId: string,
  maxAttempts: number,
): Promise<string> {
  const added = await enqueueSyncJobs(
    db,
    'referral',
    [{ id: referralId, payload: { referralId, reason: 'sync-now', force: true } }],
    { maxAttempts, coalesceMs: 0 },
  );
  return added.get(referralId) ?? '';
}

/** The mapping entries whose updates are paused (`inboundUpdates: false`) that `changes` would write. */
function pausedChanges(changes: Record<string, unknown>, mapping: SyncContext['mapping']): FieldMapping[] {
  return inboundPausedEntries(mapping).filter((entry) => Object.hasOwn(changes, entry.opportunity));
}

/** Partner Center → Salesforce for one referral. Idempotent: running it twice writes once. */
export async function syncReferralToOpportunity(
  ctx: SyncContext,
  referralId: string,
  jobId?: string,
  options: { force?: boolean } = {},
): Promise<InboundOutcome> {
  const f = ctx.crm.fields;
  const log = ctx.logger.child({ referralId, jobId });
  const retry = loggedRetry(ctx.retry, log);

  let referral: Referral;
  try {
    referral = await retry('GET referral', () => ctx.referrals.get(referralId));
  } catch (error) {
    if (isRelayError(error) && error.code === 'PC_NOT_FOUND') {
      await recordAudit(ctx.pool, {
        direction: 'inbound',
        level: 'ERROR',
        referralId,
        jobId,
        message: 'Referral not found in Partner Center',
      });
      return 'not-found';
    }
    throw error;
  }

  const mapped = mapReferralToOpportunity(referral, ctx.mapping);
  const print = fingerprint(mapped);
  const link = await findLinkByReferral(ctx.pool, referralId);
  // Never write a referral older than the last one synced (by either direction's job).
  const stale = async (latest = link): Promise<boolean> => {
    if (!isOlderThan(referral.updatedDateTime, latest?.referralUpdatedAt)) return false;
    const message = `Referral version ${String(referral.updatedDateTime)} is older than the one last synced (${latest?.referralUpdatedAt?.toISOString() ?? ''}); not written`;
    await recordAudit(ctx.pool, { direction: 'inbound', level: 'INFO', referralId, jobId, message });
    log.info({ updatedDateTime: referral.updatedDateTime }, message);
    return true;
  };
  if (await stale()) return 'unchanged';
  if (!link?.opportunityId) {
    // Decided by the referral and what is linked in its engagement, never by the event name that
    // announced it: two events merged into one job must give the same outcome in either order.
    const decision = decideInbound(referral, await ownReferralFor(ctx, referral));
    if (decision.kind !== 'sync') {
      const { message } = decision;
      await recordAudit(ctx.pool, { direction: 'inbound', level: 'INFO', referralId, jobId, message });
      log.info({ engagementId: referral.engagementId, decision: decision.kind }, message);
      // The pair's own referral syncs in a job of its own, so it takes its turn with the pair's
      // other jobs: synced here, under this referral's lock only, it ran beside the pair's outbound
      // job, whose older agreement then replaced this write's (chaos seed 20261202, pair 15).
      if (decision.kind === 'via') {
        await noticeMicrosoftAnswer(ctx, referral, decision.referralId);
        await enqueueSyncJobs(
          ctx.pool,
          'referral',
          [{ id: decision.referralId, payload: { referralId: decision.referralId, reason: 'related' } }],
          { maxAttempts: ctx.maxAttempts, coalesceMs: 0 },
        );
      }
      return 'related';
    }
  }
  if (link?.opportunityId && link.dealDeletedAt) {
    // The rule for deletes decided the referral's fate; a new record for it would be an orphan.
    const message = `Not written: Opportunity ${link.opportunityId} was deleted in the CRM (restore it to sync again)`;
    await recordAudit(ctx.pool, { direction: 'inbound', level: 'INFO', referralId, jobId, message });
    log.info({ opportunityId: link.opportunityId }, message);
    return 'unchanged';
  }
  if (link?.opportunityId && link.inboundFingerprint === print && !options.force) {
    await referralUnchanged(ctx.pool, referral);
    log.debug('referral unchanged since the last sync');
    return 'unchanged';
  }

  // The link may be missing even though the Opportunity exists: a crash between the Salesforce
  // write and the link save (the external id finds it), or a referral whose externalReferenceId
  // names an Opportunity (created from Salesforce, by us before the link was saved or by another
  // tool): that Opportunity is the pair, never a new one.
  const fields = [
    ...new Set([
      f.id,
      f.accountId,
      f.referralId,
      f.won,
      f.closed,
      ...relayFields(f),
      ...mappedOpportunityFields(ctx.mapping),
    ]),
  ];
  const named = link?.opportunityId ?? opportunityIdIn(referral.externalReferenceId);
  const current = named
    ? (await retry('read Opportunity', () => ctx.crm.deals.readDeals('id', [named], fields))).get(named)
    : (
        await retry('read Opportunity', () => ctx.crm.deals.readDeals('referralId', [referralId], fields))
      ).get(referralId);
  const pairedElsewhere = current?.[f.referralId];
  if (typeof pairedElsewhere === 'string' && pairedElsewhere !== '' && pairedElsewhere !== referralId) {
    const message = `Referral ${referralId} names Opportunity ${String(current?.[f.id])}, which is paired with referral ${pairedElsewhere}; not synced`;
    await recordAudit(ctx.pool, { direction: 'inbound', level: 'INFO', referralId, jobId, message });
    log.info({ opportunityId: current?.[f.id], pairedReferralId: pairedElsewhere }, message);
    return 'related';
  }
  // The relay may keep a link for the Opportunity alone (an outbound send that failed): join it to
  // this referral's before anything is saved under either id.
  if (current && link?.opportunityId !== current[f.id])
    await joined(ctx.pool, referralId, current[f.id] as string);

  // Defaults for fields the referral says nothing about go on a create only: an update leaves them be.
  const desired: Record<string, unknown> = current
    ? { ...mapped.fields }
    : { ...mapped.createOnly, ...mapped.fields };
  let accountId = (current?.[f.accountId] as string | null | undefined) ?? link?.accountId ?? null;
  if (!accountId && mapped.customer?.name) {
    const customer = mapped.customer;
    // Another instance may be matching the same customer right now: one at a time, so the
    // second finds the Account the first created.
    const customerKey = `account:${(customer.name as string).toLowerCase()}|${customer.postalCode ?? ''}`;
    accountId = await retry('match Account', () =>
      ctx.locks.run(customerKey, () =>
        ctx.crm.deals.findOrCreateAccount({ ...customer, name: customer.name as string }),
      ),
    );
    desired[f.accountId] = accountId;
  }

  const changes = current ? diffOpportunity(desired, current, ctx.mapping) : desired;
  const syncedValues = canonicalFromReferral(referral, ctx.mapping);
  // A seller's edit not yet synced out wins the fields the ownership rule gives Salesforce: the
  // outbound job sends it; overwriting it here would silently lose it.
  // An earlier inbound write a crash cut off before its agreement was saved counts where it landed.
  const lastAgreed = current
    ? agreedSoFar(link?.outboundValues, link?.pendingValues, canonicalFromOpportunity(current, ctx.mapping))
    : null;
  // A referral this relay POSTed names its Opportunity: with no agreement saved (a crash right after
  // the POST), everything differing changed on both sides and the mapping's owner keeps it, so a
  // seller's edit made since the POST survives (chaos seed 20261202, pair 34).
  /** Mapping entry `name` keeps the agreement it had (none when it had none). */
  const keepAgreed = (name: string) => {
    if (lastAgreed && Object.hasOwn(lastAgreed, name)) syncedValues[name] = lastAgreed[name];
    else delete syncedValues[name];
  };
  const postedFrom = current !== undefined && namesOpportunity(referral, String(current[f.id]));
  if (current && (lastAgreed || postedFrom)) {
    const held = salesforceHeldFields({
      lastSynced: lastAgreed,
      salesforce: { opportunity: current },
      partnerCenter: referral,
      mapping: ctx.mapping,
    });
    for (const field of held.fields) delete changes[field];
    // A field kept for the seller is not agreed: it keeps its last agreed value, so the outbound
    // job still sees the seller's edit (saving Partner Center's value there made it look unchanged).
    for (const decision of held.decisions) keepAgreed(decision.field);
  }
  // Fields the mapping pauses for updates keep the deal's value. Their agreement stays as it was, so
  // the outbound job does not take the deal's value for a seller's edit and send it back.
  const pausedEntries = current ? pausedChanges(changes, ctx.mapping) : [];
  for (const entry of pausedEntries) {
    delete changes[entry.opportunity];
    keepAgreed(entry.name);
  }
  const paused = pausedEntries.map((entry) => entry.opportunity);
  const pausedNote = `Not updated (paused in the mapping): ${paused.join(', ')}`;
  const changed = Object.keys(changes);
  const outcome = {
    accountId,
    inboundValues: mapped.fields,
    inboundFingerprint: print,
    agreed: syncedValues,
  };

  if (current && changed.length === 0 && current[f.syncStatus] === 'Synced') {
    await syncedInbound(ctx.pool, referral, { ...outcome, opportunityId: current[f.id] as string });
    if (paused.length > 0)
      await recordAudit(ctx.pool, {
        direction: 'inbound',
        level: 'INFO',
        referralId,
        opportunityId: current[f.id] as string,
        jobId,
        message: pausedNote,
      });
    return 'unchanged';
  }

  // What fitting and defaults did to the values this write carries, said on the record.
  const notes = [...mapped.notes, ...(current ? [] : mapped.createOnlyNotes)]
    .filter((note) =>
      note.field.startsWith('Account ')
        ? Object.hasOwn(changes, f.accountId)
        : Object.hasOwn(changes, note.field),
    )
    .map((note) => note.message);
  const summary = current
    ? changed.length > 0
      ? `Updated from Partner Center: ${changed.join(', ')}`
      : 'In sync with Partner Center'
    : `Created from Partner Center referral ${referralId}`;
  if (paused.length > 0) notes.push(pausedNote);
  const message = notes.length > 0 ? `${summary}; ${notes.join('; ')}` : summary;
  const line = formatAuditLine({ at: ctx.now(), level: 'INFO', direction: 'inbound', message });
  const write: Record<string, unknown> = {
    ...changes,
    [f.syncStatus]: 'Synced',
    [f.auditEntry]: line,
  };
  if (current) write[f.id] = current[f.id];
  else {
    write[f.referralId] = referralId;
    // Referrals that arrive from Partner Center are synced from then on (contract §4.3).
    write[f.syncFlag] = true;
  }
  // The outbound job for this pair may have sent a newer version while this one read Salesforce.
  if (await stale(await findLinkByReferral(ctx.pool, referralId))) return 'unchanged';
  const result = await retry('write Opportunity', () =>
    writeOpportunity(ctx, { referralId }, write, {
      createLink: true,
      pendingValues: syncedValues,
      // An earlier write's pending values that landed become agreed before this write's replace
      // them: else a later failure of this write left the record's values looking like a seller's
      // edit, and the outbound job sent them over the partner's newer ones (chaos seed 20261202
      // in npm test, pair 2: notes).
      agreedValues: link?.pendingValues ? lastAgreed : undefined,
    }),
  );
  ctx.observeWrite?.(referral.updatedDateTime as string | undefined);
  await syncedInbound(ctx.pool, referral, { ...outcome, opportunityId: result.id });
  await recordAudit(ctx.pool, {
    direction: 'inbound',
    level: 'INFO',
    referralId,
    opportunityId: result.id,
    jobId,
    message,
    details: { fields: changed, defaulted: mapped.defaulted.filter((field) => changed.includes(field)) },
  });
  log.info({ opportunityId: result.id, fields: changed, created: !current }, message);
  if (!current) await noticeArrival(ctx, referral, result.id);
  return current ? 'updated' : 'created';
}

/** graphile-worker task for inbound-referral-changed. */
export function referralChangedTask(ctx: SyncContext): Task {
  return syncTask(ctx, {
    direction: 'inbound',
    parse: parsePayload,
    subject: ({ referralId }) => ({ referralId }),
    run: ({ referralId, force }, jobId) => syncReferralToOpportunity(ctx, referralId, jobId, { force }),
    // An Opportunity already paired shows the failure to its seller: Error with the reason. Its
    // write touches only the status and the audit entry, so it passes a rule that refused the values.
    onGiveUp: async ({ referralId }, error) => {
      const opportunityId = (await findLinkByReferral(ctx.pool, referralId))?.opportunityId;
      if (!opportunityId) return;
      const f = ctx.crm.fields;
      const line = formatAuditLine({
        at: ctx.now(),
        level: 'ERROR',
        direction: 'inbound',
        message: `Not updated from Partner Center: ${describeError(error)}`,
      });
      await writeOpportunity(
        ctx,
        { referralId },
        { [f.id]: opportunityId, [f.syncStatus]: 'Error', [f.auditEntry]: line },
      );
    },
  });
}
