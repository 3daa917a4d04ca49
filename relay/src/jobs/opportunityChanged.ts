import type { Task } from 'graphile-worker';
import { describeError, isRelayError, RelayError } from '../errors.ts';
import type { Referral, ReferralPatchOperation } from '../sync/referral.ts';
import { odataEquals } from '../partner-center/referralsClient.ts';
import type { DealChange, DealRecord, RelayFieldNames } from '../crm/crmAdapter.ts';
import { recordAudit } from '../store/audit.ts';
import { crashPoint } from '../crashPoint.ts';
import { hasOpenDeadLetter } from '../store/deadLetters.ts';
import { findLinkByOpportunity } from '../store/links.ts';
import type { Link } from '../store/links.ts';
import { learnDealWriteCount, snapshotIncludesRelayWrites } from '../store/dealWrites.ts';
import {
  agreedSoFar,
  agreedValues,
  buildCreateRequests,
  canonicalFromOpportunity,
  canonicalFromReferral,
  describeDecision,
  fingerprint,
  fitReferralValues,
  formatAuditLine,
  getTransform,
  isObject,
  isTerminal,
  mapOpportunityToReferral,
  mapReferralToOpportunity,
  mappedOpportunityFields,
  namesOpportunity,
  partnerCenterHeldPaths,
  planReferralPatch,
  referralLinkOf,
  resolveConflict,
  validateForCreate,
  withEngagementId,
  withoutInboundEchoes,
  withoutUnchangedSinceSync,
} from '../sync/index.ts';
import type { OpportunityView, ReferralValues } from '../sync/index.ts';
import { dealDeletedOutbound, dealRestoredOutbound } from './dealRemoved.ts';
import { writeOpportunity } from './opportunityWrites.ts';
import { paired, refused, syncedOutbound } from './pairLifecycle.ts';
import { enqueueReferralSyncNow, inboundFingerprint } from './referralChanged.ts';
import { loggedRetry } from './retry.ts';
import type { Retry } from './retry.ts';
import { syncTask } from './syncTask.ts';
import { isOlderThan, versionTime } from './versions.ts';
import { relayFields } from './syncContext.ts';
import type { FieldsContext, SyncContext } from './syncContext.ts';

export interface OpportunityChangedPayload {
  opportunityId: string;
  changeKind?: string;
  changedFields?: string[];
  /** The record as the seller saved it, when the change feed's event carried it. */
  snapshot?: DealRecord;
  /** The event's CreatedDate (epoch ms): the snapshot's version. */
  eventCreatedAt?: number;
  /** Sync now: read the record and Partner Center and compare, even when nothing looks changed. */
  force?: boolean;
}

/** The change kind of a seller's Sync now (the panel publishes it; `relay sync` enqueues it). */
export const SYNC_NOW = 'Resync';
/** The change kinds of a deleted record and of one restored from the recycle bin (jobs/dealRemoved.ts). */
export const DELETED = 'Deleted';
export const UNDELETED = 'Undeleted';

export type OutboundOutcome =
  'created' | 'updated' | 'unchanged' | 'invalid' | 'terminal' | 'not-synced' | 'not-found';

function parsePayload(payload: unknown): OpportunityChangedPayload {
  const p = payload as Partial<OpportunityChangedPayload> | null;
  if (!p || typeof p.opportunityId !== 'string' || p.opportunityId.length === 0) {
    throw new RelayError('REQUEST_INVALID', 'outbound-deal-changed job payload needs an opportunityId');
  }
  return {
    opportunityId: p.opportunityId,
    changeKind: p.changeKind,
    changedFields: p.changedFields,
    snapshot: isObject(p.snapshot) ? p.snapshot : undefined,
    eventCreatedAt: typeof p.eventCreatedAt === 'number' ? p.eventCreatedAt : undefined,
    ...(p.force === true || p.changeKind === SYNC_NOW ? { force: true } : {}),
  };
}

/** The job for one change from the CRM's change feed. */
export function outboundJobPayload(change: DealChange): OpportunityChangedPayload {
  return {
    opportunityId: change.dealId,
    changeKind: change.changeKind,
    changedFields: change.changedFields,
    ...(change.snapshot ? { snapshot: change.snapshot } : {}),
    ...(change.changedAt === undefined ? {} : { eventCreatedAt: change.changedAt }),
  };
}

const CONFLICT_RETRIES = 3;

/**
 * What sending a change of a paired Opportunity reads of it: every field an event snapshot must hold
 * for the job to skip the query (a create also needs the Account, and queries).
 */
export function updateFields(ctx: FieldsContext): string[] {
  const f = ctx.crm.fields;
  const compared = ctx.mapping.fields
    .filter((entry) => !getTransform(entry.transform).inboundOnly)
    .map((entry) => entry.opportunity);
  return [...new Set([f.id, f.won, f.closed, f.referralId, ...relayFields(f), ...compared])];
}

/** The deal's fields (and its account's) the outbound sync reads in one query. */
export function outboundFields(ctx: FieldsContext): string[] {
  const f = ctx.crm.fields;
  const account = Object.values(ctx.mapping.customer).map((field) => `${f.account}.${field}`);
  return [
    ...new Set([
      f.id,
      f.won,
      f.closed,
      f.accountId,
      // The record state's version (versions.ts).
      f.version,
      f.referralId,
      f.referralLink,
      ...relayFields(f),
      ...mappedOpportunityFields(ctx.mapping),
      ...account,
    ]),
  ];
}

function viewOf(record: DealRecord, fields: { account: string }): OpportunityView {
  const account = record[fields.account] as Record<string, unknown> | null | undefined;
  return { opportunity: record, account: account ?? null };
}

/**
 * The event's snapshot, when it can stand in for a query: the Opportunity is paired, the snapshot
 * holds every field the update reads, and it already includes every write the relay made to the
 * record (store/dealWrites.ts), so it cannot undo one of them in Partner Center.
 */
export function usableSnapshot(
  ctx: FieldsContext,
  opportunityId: string,
  link: Link | null,
  snapshot: DealRecord | undefined,
): DealRecord | null {
  const f = ctx.crm.fields;
  if (!snapshot || !link?.referralId) return null;
  const id = snapshot[f.id];
  if (typeof id !== 'string' || id.slice(0, 15) !== opportunityId.slice(0, 15)) return null;
  if (snapshot[f.referralId] !== link.referralId) return null;
  if (!updateFields(ctx).every((field) => field in snapshot)) return null;
  return snapshotIncludesRelayWrites(link.dealWrites, snapshot[f.writeCount]) ? snapshot : null;
}

/** Salesforce → Partner Center for one Opportunity. Idempotent: a repeated event sends nothing new. */
export async function syncOpportunityToReferral(
  ctx: SyncContext,
  opportunityId: string,
  jobId?: string,
  snapshot?: DealRecord,
  eventCreatedAt?: number,
  options: { force?: boolean } = {},
): Promise<OutboundOutcome> {
  const force = options.force === true;
  const f = ctx.crm.fields;
  const log = ctx.logger.child({ opportunityId, jobId });
  const retry = loggedRetry(ctx.retry, log);
  const link = await findLinkByOpportunity(ctx.pool, opportunityId);
  // Sync now reads the record as it is now, not as an event saw it.
  let record = force ? null : usableSnapshot(ctx, opportunityId, link, snapshot);
  ctx.countRecordSource?.(record ? 'snapshot' : 'query');
  if (!record) {
    record =
      (
        await retry('read Opportunity', () =>
          ctx.crm.deals.readDeals('id', [opportunityId], outboundFields(ctx)),
        )
      ).get(opportunityId) ?? null;
    if (record && link)
      await learnDealWriteCount(ctx.pool, opportunityId, link.dealWrites, Number(record[f.writeCount] ?? 0));
  }
  if (!record) return 'not-found';
  if (record[f.syncFlag] !== true) return 'not-synced';
  // Never send a record state older than the last one sent: a snapshot is as old as its event.
  const version = versionTime(record === snapshot ? eventCreatedAt : record[f.version]);
  if (isOlderThan(version, link?.opportunityVersion)) {
    const message = `Opportunity state of ${new Date(version as number).toISOString()} is older than the one last sent (${link?.opportunityVersion?.toISOString() ?? ''}); not sent`;
    await recordAudit(ctx.pool, { direction: 'outbound', level: 'INFO', opportunityId, jobId, message });
    log.info({ version }, message);
    return 'unchanged';
  }
  const sentVersion = version === null ? {} : { opportunityVersion: new Date(version) };

  // Re-read after a 412 (see below); the write-back builds on the latest copy.
  let current = record;
  const canonical = canonicalFromOpportunity(record, ctx.mapping);
  const print = fingerprint(canonical);
  const referralId = link?.referralId ?? (record[f.referralId] as string | null) ?? null;
  // The pair's own fields on the Opportunity: a relay killed between the referral's POST and the
  // write-back leaves them empty while the link already holds the pair (chaos seed 20261202).
  const pairing = referralId
    ? missingPairFields(f, record, referralId, ctx.mapping.referralLinkTemplate)
    : {};
  const carriesPair = Object.keys(pairing).length === 0;
  if (
    !force &&
    referralId &&
    carriesPair &&
    link?.outboundFingerprint === print &&
    record[f.syncStatus] === 'Synced'
  ) {
    log.debug('no mapped field changed since the last sync');
    return 'unchanged';
  }

  const audit = async (
    level: 'INFO' | 'ERROR',
    message: string,
    extra: Record<string, unknown> = {},
    status?: 'Synced' | 'Error',
  ) => {
    const line = formatAuditLine({ at: ctx.now(), level, direction: 'outbound', message });
    // Partner Center is already written: the write-back waits in a longer batching window so a
    // burst of syncs shares a few Salesforce calls (the job holds its worker slot meanwhile).
    await retry('write back to Salesforce', () =>
      writeOpportunity(
        ctx,
        { opportunityId },
        {
          [f.id]: opportunityId,
          ...extra,
          ...(status ? { [f.syncStatus]: status } : {}),
          [f.auditEntry]: line,
        },
        { deferred: true },
      ),
    );
    await recordAudit(ctx.pool, {
      direction: 'outbound',
      level,
      opportunityId,
      referralId: (extra[f.referralId] as string) ?? referralId,
      jobId,
      message,
    });
  };

  if (!referralId) {
    const created = await createReferral(ctx, record, link, print, audit, log, retry, sentVersion);
    // Another job paired the Opportunity while this one waited, or an earlier attempt's referral was
    // adopted: send this job's values as an update.
    return created === 'paired' ? syncOpportunityToReferral(ctx, opportunityId, jobId) : created;
  }

  let referral = await retry('GET referral', () => ctx.referrals.get(referralId));
  if (isTerminal(referral)) {
    const message = `Referral is ${referral.status}/${referral.substatus} in Partner Center, which is final; changes are no longer sent`;
    // The record says so already (every reconcile re-runs it): nothing to write again.
    if (
      !force &&
      carriesPair &&
      link?.outboundFingerprint === print &&
      link.lastError === message &&
      record[f.syncStatus] === 'Error'
    )
      return 'terminal';
    await audit('ERROR', message, pairing, 'Error');
    await refused(ctx.pool, opportunityId, message, print, referralId);
    return 'terminal';
  }

  // A create cut off after the referral's POST (a crash, or retries spent in an outage) resumes
  // here: its co-sell referral for Microsoft may still be missing (chaos seed 20261202).
  if (!link?.outboundFingerprint && record[f.helpRequest] && namesOpportunity(referral, opportunityId))
    await ensureReferralForMicrosoft(ctx, record, referral, retry);

  // What both sides last agreed on, with an inbound write a crash cut off before its agreement was
  // saved, when the record shows it landed: those values are the relay's, not the seller's (chaos
  // seed 20261202 sent a partner's older notes back over the newer ones that way).
  const lastAgreed = agreedSoFar(link?.outboundValues, link?.pendingValues, canonical);
  // Only what the seller changed since the last sync goes out: not the relay's stand-ins for this
  // referral (a truncated name, a defaulted close date), nor fields Partner Center moved on since,
  // nor fields both sides changed that the mapping gives Partner Center (the inbound sync brings
  // Partner Center's value over).
  const unsent = withoutUnchangedSinceSync(
    withoutInboundEchoes(
      mapOpportunityToReferral(viewOf(current, f), ctx.mapping),
      current,
      referral,
      ctx.mapping,
    ),
    current,
    lastAgreed,
    ctx.mapping,
  );
  const partnerHeld = partnerCenterHeldPaths({
    lastSynced: lastAgreed,
    salesforce: viewOf(current, f),
    partnerCenter: referral,
    mapping: ctx.mapping,
  });
  for (const path of partnerHeld.paths) delete unsent[path];
  const fitted = fitReferralValues(unsent, ctx.mapping);
  if (fitted.problems.length > 0)
    throw new RelayError('VALIDATION_FAILED', `Not sent to Partner Center: ${fitted.problems.join('; ')}`, {
      details: { problems: fitted.problems },
    });
  let desired: ReferralValues = fitted.values;
  // A Partner Center change Salesforce refused is still open: with nothing of the seller's to send,
  // the record keeps showing that Error rather than a Synced this job has not earned.
  if (
    planReferralPatch(desired, referral).ops.length === 0 &&
    (await hasOpenDeadLetter(ctx.pool, 'inbound', referralId))
  ) {
    log.debug('nothing to send while the inbound sync of this referral is a dead letter');
    return 'unchanged';
  }
  const notes: string[] = [
    ...fitted.notes.map((note) => note.message),
    ...partnerHeld.decisions.map(describeDecision),
  ];
  let toSalesforce: Record<string, unknown> = {};
  for (let attempt = 0; ; attempt++) {
    const plan = planReferralPatch(desired, referral);
    notes.push(...plan.blocked);
    if (plan.ops.length === 0) break;
    try {
      referral = await retry('PATCH referral', () =>
        ctx.referrals.patch(referralId, plan.ops as ReferralPatchOperation[], referral.eTag as string),
      );
      log.info({ referralId, paths: plan.ops.map((o) => o.path) }, 'referral updated');
      ctx.observeWrite?.();
      notes.unshift(`Sent to Partner Center: ${plan.ops.map((o) => o.path).join(', ')}`);
      break;
    } catch (error) {
      if (!(isRelayError(error) && error.code === 'PC_CONFLICT') || attempt >= CONFLICT_RETRIES) throw error;
      // Someone changed the referral since we read it: re-read, and let the mapping's ownership
      // rule decide each field both sides changed since the last sync; the loser gets the winner's value.
      // The Opportunity is re-read too: the inbound job for the same referral change may have written
      // it since this job started, and deciding on the stale copy would send old values back. The
      // link stays as read at the start: its values are the last state both sides agreed on.
      const [fresh, freshRecord] = await Promise.all([
        retry('GET referral', () => ctx.referrals.get(referralId)),
        retry('read Opportunity', () => ctx.crm.deals.readDeals('id', [opportunityId], outboundFields(ctx))),
      ]);
      referral = fresh;
      current = freshRecord.get(opportunityId) ?? current;
      if (isTerminal(referral))
        throw new RelayError('PC_TERMINAL', `Referral ${referralId} became final while syncing`);
      const resolution = resolveConflict({
        lastSynced: lastAgreed,
        salesforce: viewOf(current, f),
        partnerCenter: referral,
        mapping: ctx.mapping,
      });
      const resolved = fitReferralValues(resolution.toPartnerCenter, ctx.mapping);
      desired = resolved.values;
      notes.push(...resolved.notes.map((note) => note.message));
      toSalesforce = resolution.toSalesforce;
      notes.push(...resolution.decisions.map(describeDecision));
    }
  }

  const synced = canonicalFromReferral(referral, ctx.mapping);
  const afterSalesforce = { ...current, ...toSalesforce };
  const message = notes.length > 0 ? notes.join('; ') : 'In sync with Partner Center';
  const afterCanonical = canonicalFromOpportunity(afterSalesforce, ctx.mapping);
  // Partner Center may hold changes of its own this job did not bring over (the partner edited the
  // notes while the seller edited the name): those stay unagreed, and the referral's state stays
  // unseen by the inbound sync, which brings them over. Recording the whole referral as synced
  // made that inbound job find nothing new (a stale field) and the next outbound job send the
  // Opportunity's older value back (a lost change): chaos seeds 1 and 3.
  const agreement = agreedValues(afterCanonical, synced, lastAgreed);
  // The agreement counts the write-back's values (Partner Center's winners) as held by the
  // Opportunity, so it is saved only once the write-back landed. Saved before it, a write-back that
  // failed or was cut off left the record's older value looking like a seller's edit, and the next
  // outbound job sent it over the partner's newer one (chaos seed 20261202 in npm test: notes). The
  // webhook for this job's PATCH cannot run before then: the pair's jobs take turns.
  await audit('INFO', message, { ...pairing, ...toSalesforce }, 'Synced');
  await syncedOutbound(ctx.pool, opportunityId, referral, {
    // The webhook Partner Center sends for our own PATCH must find nothing new to write.
    inboundFingerprint: agreement.allAgree ? inboundFingerprint(referral, ctx) : undefined,
    agreed: agreement.values,
    outboundFingerprint: fingerprint(afterCanonical),
    ...sentVersion,
  });
  return 'updated';
}

/** The deal values of the mapping's one-way inbound entries for `referral` (none when one cannot be mapped). */
function inboundOnlyFields(referral: Referral, mapping: SyncContext['mapping']): Record<string, unknown> {
  let mapped: Record<string, unknown>;
  try {
    mapped = mapReferralToOpportunity(referral, mapping).fields;
  } catch {
    // A value that cannot be written stays for the inbound job, which reports it on the record.
    return {};
  }
  return Object.fromEntries(
    mapping.fields
      .filter((entry) => entry.direction === 'inbound' && Object.hasOwn(mapped, entry.opportunity))
      .map((entry) => [entry.opportunity, mapped[entry.opportunity]]),
  );
}

/** The fields an Opportunity carries about its referral, as the create's write-back sets them. */
function pairFields(f: RelayFieldNames, referral: Referral, linkTemplate: string): Record<string, unknown> {
  return {
    [f.referralId]: referral.id,
    [f.referralLink]: referralLinkOf(linkTemplate, referral.id as string),
    [f.referralStatus]: referral.status ?? null,
    [f.referralSubstatus]: referral.substatus ?? null,
  };
}

/**
 * The referral id and link the Opportunity should carry but does not. A snapshot without the link
 * field says nothing about it, so only a read that holds the field can ask for it again.
 */
export function missingPairFields(
  f: RelayFieldNames,
  record: DealRecord,
  referralId: string,
  linkTemplate: string,
): Record<string, string> {
  const missing: Record<string, string> = {};
  if (record[f.referralId] !== referralId) missing[f.referralId] = referralId;
  if (missing[f.referralId] || (Object.hasOwn(record, f.referralLink) && !record[f.referralLink]))
    missing[f.referralLink] = referralLinkOf(linkTemplate, referralId);
  return missing;
}

/** Referrals already created for an Opportunity: ours, and the co-sell one "for Microsoft". */
async function findCreatedReferrals(
  ctx: SyncContext,
  opportunityId: string,
): Promise<{ main?: Referral; forMicrosoft?: Referral }> {
  const found: { main?: Referral; forMicrosoft?: Referral } = {};
  for await (const referral of ctx.referrals.list({
    filter: odataEquals('externalReferenceId', opportunityId),
  })) {
    const targets = (referral.target as Array<{ type?: string; id?: string }> | undefined) ?? [];
    const toMicrosoft = targets.some((t) => t.type === 'BusinessProfileLocation' && t.id === 'msft');
    if (toMicrosoft) found.forMicrosoft ??= referral;
    else found.main ??= referral;
  }
  return found;
}

/** The Opportunity as a create request sees it: with its primary contact when it asks Microsoft for help. */
async function createView(ctx: SyncContext, record: DealRecord, retry: Retry): Promise<OpportunityView> {
  const f = ctx.crm.fields;
  const opportunityId = record[f.id] as string;
  const view = viewOf(record, ctx.crm.fields);
  if (record[f.helpRequest]) {
    view.primaryContact =
      (await retry('read contact', () => ctx.crm.deals.readPrimaryContacts([opportunityId]))).get(
        opportunityId,
      ) ?? null;
  }
  return view;
}

/** The co-sell referral for Microsoft in `main`'s engagement, created unless it exists already. */
async function ensureReferralForMicrosoft(
  ctx: SyncContext,
  record: DealRecord,
  main: Referral,
  retry: Retry,
): Promise<void> {
  const f = ctx.crm.fields;
  const opportunityId = record[f.id] as string;
  const engagementId = main.engagementId as string | undefined;
  if (!engagementId) return;
  const [, forMicrosoft] = buildCreateRequests(await createView(ctx, record, retry), ctx.mapping);
  if (!forMicrosoft) return;
  await ctx.locks.run(`create:${opportunityId}`, () =>
    retry(
      'create Microsoft referral',
      async () =>
        (await findCreatedReferrals(ctx, opportunityId)).forMicrosoft ??
        ctx.referrals.create(withEngagementId(forMicrosoft, engagementId) as Referral),
    ),
  );
}

async function createReferral(
  ctx: SyncContext,
  record: DealRecord,
  link: Link | null,
  print: string,
  audit: (
    level: 'INFO' | 'ERROR',
    message: string,
    extra?: Record<string, unknown>,
    status?: 'Synced' | 'Error',
  ) => Promise<void>,
  log: SyncContext['logger'],
  retry: Retry,
  sentVersion: { opportunityVersion?: Date },
): Promise<OutboundOutcome | 'paired'> {
  const f = ctx.crm.fields;
  const opportunityId = record[f.id] as string;
  const view = await createView(ctx, record, retry);
  const problems = validateForCreate(view, ctx.mapping, { knownSolutions: ctx.knownSolutions });
  if (problems.length > 0) {
    const message = `Not sent to Partner Center: ${problems.join('; ')}`;
    // Unchanged invalid data is reported once, not on every event.
    if (link?.outboundFingerprint !== print || record[f.syncStatus] !== 'Error')
      await audit('ERROR', message, {}, 'Error');
    await refused(ctx.pool, opportunityId, message, print);
    return 'invalid';
  }
  const [first, forMicrosoft] = buildCreateRequests(view, ctx.mapping);
  // A POST that timed out may still have created the referral. Before every POST, look for what
  // already exists for this Opportunity, so a retry adopts it rather than making a second one.
  const existing = () => findCreatedReferrals(ctx, opportunityId);
  // Two jobs for one Opportunity can overlap (a change arriving while the create is slow), and
  // relay instances share the work: creates for one Opportunity take turns, and each looks again.
  const made = await ctx.locks.run(`create:${opportunityId}`, async () => {
    if ((await findLinkByOpportunity(ctx.pool, opportunityId))?.referralId) return null;
    const adopted = (await retry('look up referral', existing)).main;
    if (adopted) {
      // An earlier attempt's POST, cut off before the pair was saved: it was made from the record
      // as it was then, so nothing of it is agreed. The pair is saved alone and the update path
      // sends whatever the seller changed since (chaos seed 20261202 left such a referral stale
      // when this job recorded the record as read now as agreed), writes the id and link, and
      // creates a missing referral for Microsoft.
      await paired(ctx.pool, opportunityId, adopted, inboundFingerprint(adopted, ctx));
      return null;
    }
    const created = await retry(
      'create referral',
      async () => (await existing()).main ?? ctx.referrals.create(first as Referral),
    );
    crashPoint('pc-post:after');
    // Record the pair at once, with the referral's state as synced: from here on the webhooks for
    // this referral and for the one for Microsoft find their Opportunity instead of making another.
    // What the POST sent is what both sides hold now: an inbound job that runs before the
    // write-back below (or after a crash before it) then sees a seller's later edit as the
    // seller's, not as a field Partner Center changed (chaos seed 20261202 lost one that way).
    await paired(
      ctx.pool,
      opportunityId,
      created,
      inboundFingerprint(created, ctx),
      canonicalFromOpportunity(
        { ...record, ...pairFields(f, created as Referral, ctx.mapping.referralLinkTemplate) },
        ctx.mapping,
      ),
    );
    if (forMicrosoft && created.engagementId) {
      const engagementId = created.engagementId as string;
      await retry(
        'create Microsoft referral',
        async () =>
          (await existing()).forMicrosoft ??
          ctx.referrals.create(withEngagementId(forMicrosoft, engagementId) as Referral),
      );
    }
    return created;
  });
  // Paired by another job, or an earlier POST adopted: the update path takes it from here.
  if (!made) return 'paired';
  ctx.observeWrite?.();
  const referralId = made.id as string;
  const referral = await retry('GET referral', () => ctx.referrals.get(referralId)).catch(() => made);
  // The referral's one-way values (its creation time, Microsoft's CRM id) go with the pair's fields:
  // else the webhook for our own POST writes them in a second call.
  const writeBack = {
    ...inboundOnlyFields(referral, ctx.mapping),
    ...pairFields(f, referral, ctx.mapping.referralLinkTemplate),
  };
  // What both sides agree on is the record as the write-back leaves it (with the referral's id and
  // status): a later job, e.g. the reconcile's, then finds nothing changed instead of a record
  // that differs from the one read before the create.
  const agreed = canonicalFromOpportunity({ ...record, ...writeBack }, ctx.mapping);
  // Save the pair, and the referral's state as synced, before writing back: a crash after this
  // cannot lead to a second referral, and the webhook for our own POST finds nothing new.
  await syncedOutbound(ctx.pool, opportunityId, referral, {
    engagementId: (referral.engagementId as string | undefined) ?? null,
    // The partner may have edited the new referral before this re-read: then the fingerprint
    // stays the POST answer's, so the inbound sync still brings that edit over (chaos seed 3).
    inboundFingerprint: agreedValues(agreed, canonicalFromReferral(referral, ctx.mapping), null).allAgree
      ? inboundFingerprint(referral, ctx)
      : undefined,
    agreed,
    outboundFingerprint: fingerprint(agreed),
    ...sentVersion,
  });
  await audit(
    'INFO',
    `Created Partner Center referral ${referralId}${forMicrosoft ? ' (co-sell, shared with Microsoft)' : ''}`,
    writeBack,
    'Synced',
  );
  log.info({ referralId }, 'referral created');
  return 'created';
}

/** graphile-worker task for outbound-deal-changed. */
export function opportunityChangedTask(ctx: SyncContext): Task {
  return syncTask(ctx, {
    direction: 'outbound',
    parse: parsePayload,
    subject: ({ opportunityId }) => ({ opportunityId }),
    run: async ({ opportunityId, snapshot, eventCreatedAt, force: forced, changeKind }, jobId) => {
      if (changeKind === DELETED && (await dealDeletedOutbound(ctx, opportunityId, jobId)) !== 'still-there')
        return 'not-found';
      if (changeKind === UNDELETED) await dealRestoredOutbound(ctx, opportunityId, jobId);
      // A restored record is read and compared afresh, like Sync now.
      const force = forced === true || changeKind === UNDELETED;
      const outcome = await syncOpportunityToReferral(ctx, opportunityId, jobId, snapshot, eventCreatedAt, {
        force,
      });
      // Sync now reads both sides: the pair's referral follows, so a change Partner Center never
      // announced (a lost webhook) comes over too. Queued before this job completes, so whoever
      // waits for the pair's jobs (syncNow.ts) sees one of them in the queue throughout.
      const referralId = force ? (await findLinkByOpportunity(ctx.pool, opportunityId))?.referralId : null;
      if (referralId) await enqueueReferralSyncNow(ctx.pool, referralId, ctx.maxAttempts);
      return outcome;
    },
    // Tell the seller on the record too; the job stays visible as a dead letter.
    onGiveUp: async ({ opportunityId }, error) => {
      const f = ctx.crm.fields;
      const line = formatAuditLine({
        at: ctx.now(),
        level: 'ERROR',
        direction: 'outbound',
        message: describeError(error),
      });
      await writeOpportunity(
        ctx,
        { opportunityId },
        { [f.id]: opportunityId, [f.syncStatus]: 'Error', [f.auditEntry]: line },
      );
    },
  });
}
