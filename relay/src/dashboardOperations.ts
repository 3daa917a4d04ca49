import type pg from 'pg';
import { groupByKind, errorKind } from './deadLetterKinds.ts';
import type { DeadLetterKind } from './deadLetterKinds.ts';
import { describeError } from './errors.ts';
import { outboundFields } from './jobs/opportunityChanged.ts';
import type { ReferralsClient } from './partner-center/referralsClient.ts';
import type { CrmAdapter } from './crm/crmAdapter.ts';
import type { AuditEvent } from './store/audit.ts';
import { recordAudit } from './store/audit.ts';
import { listDeadLetterErrors, retryDeadLetter } from './store/deadLetters.ts';
import { findLinkDetail, listPairAudit, searchLinks } from './store/linkSearch.ts';
import type { LinkDetail, LinkPage, LinkSearch } from './store/linkSearch.ts';
import {
  canonicalFromOpportunity,
  canonicalFromReferral,
  planPair,
  referralLinkOf,
  stableStringify,
} from './sync/index.ts';
import type { Mapping, PairPlan } from './sync/index.ts';
import type { Referral } from './sync/referral.ts';
import type { DealRecord } from './crm/crmAdapter.ts';
import { findLinkByOpportunity, findLinkByReferral } from './store/links.ts';
import type { ChartRange, ChartSeries } from './syncRollup.ts';
import type { SyncStats } from './syncStats.ts';

/** One side of a pair as read just now, or why it could not be read. */
export type SideReading =
  | { ok: true; url: string | null; values: Record<string, unknown>; facts: Record<string, string | null> }
  | {
      ok: false;
      url: string | null;
      error: string;
      /** The pair has no record on this side yet. */ missing?: boolean;
    };

export interface FieldComparison {
  name: string;
  opportunityField: string;
  referralPath: string;
  direction: string;
  /** Who wins a conflict; absent for one-way fields. */
  owner: string | null;
  partnerCenter: unknown;
  salesforce: unknown;
  /** What both sides last agreed on, as the relay recorded it. */
  synced: unknown;
  /** 'same', 'differs', or 'unknown' when a side could not be read. */
  state: 'same' | 'differs' | 'unknown';
}

export interface PairDetail {
  link: LinkDetail;
  partnerCenter: SideReading;
  salesforce: SideReading;
  fields: FieldComparison[];
  /** The mapping's dry run: what the relay would write on each side now (sync/plan.ts). */
  plan: PairPlan | null;
  audit: AuditEvent[];
}

/** `relay mapping test`: the dry run of the pair an id names. */
export interface MappingTest {
  linkId: number;
  referralId: string | null;
  opportunityId: string | null;
  partnerCenter: SideReading;
  salesforce: SideReading;
  plan: PairPlan | null;
}

/** The mapping's fields side by side: each side's current value and the last synced one. */
export function compareFields(
  mapping: Mapping,
  partnerCenter: Record<string, unknown> | null,
  salesforce: Record<string, unknown> | null,
  synced: Record<string, unknown> | null,
): FieldComparison[] {
  const names = new Set([...Object.keys(partnerCenter ?? {}), ...Object.keys(salesforce ?? {})]);
  return mapping.fields
    .filter((entry) => names.has(entry.name) || (!partnerCenter && !salesforce))
    .map((entry) => {
      const pc = partnerCenter ? (partnerCenter[entry.name] ?? null) : undefined;
      const sf = salesforce ? (salesforce[entry.name] ?? null) : undefined;
      return {
        name: entry.name,
        opportunityField: entry.opportunity,
        referralPath: entry.referral,
        direction: entry.direction,
        owner: entry.owner ?? null,
        partnerCenter: pc,
        salesforce: sf,
        synced: synced ? (synced[entry.name] ?? null) : null,
        state:
          pc === undefined || sf === undefined
            ? 'unknown'
            : stableStringify(pc) === stableStringify(sf)
              ? 'same'
              : 'differs',
      };
    });
}

export interface DashboardOperations {
  searchLinks(search: LinkSearch): Promise<LinkPage>;
  /** A pair with both sides read live; null when there is no link with that id. */
  pairDetail(linkId: number): Promise<PairDetail | null>;
  /** The dry run for the pair a referral id or a deal id names; null when the relay links neither. */
  mappingTest(id: string): Promise<MappingTest | null>;
  syncSeries(range: ChartRange): Promise<ChartSeries>;
  deadLetterKinds(): Promise<DeadLetterKind[]>;
  /** Puts every dead letter of one kind back in the queue; returns how many. */
  retryDeadLetterKind(kind: string): Promise<number>;
}

export function createDashboardOperations(deps: {
  pool: pg.Pool;
  referrals: ReferralsClient;
  crm: Pick<CrmAdapter, 'fields' | 'deals' | 'recordUrl'>;
  mapping: Mapping;
  syncStats: SyncStats;
}): DashboardOperations {
  const { pool, mapping, crm } = deps;
  const referralUrl = (id: string) => referralLinkOf(mapping.referralLinkTemplate, id);
  const opportunityUrl = (id: string) => deps.crm.recordUrl(id);

  type Read<T> = { reading: SideReading; raw: T | null };
  const readPartnerCenter = async (referralId: string | null): Promise<Read<Referral>> => {
    if (!referralId)
      return {
        reading: { ok: false, url: null, missing: true, error: 'No referral yet: the pair is not complete.' },
        raw: null,
      };
    try {
      const referral = await deps.referrals.get(referralId);
      const reading: SideReading = {
        ok: true,
        url: referralUrl(referralId),
        values: canonicalFromReferral(referral, mapping),
        facts: {
          status: [referral.status, referral.substatus].filter(Boolean).join(' / ') || null,
          updated: (referral.updatedDateTime as string | undefined) ?? null,
          eTag: (referral.eTag as string | undefined) ?? null,
        },
      };
      return { reading, raw: referral };
    } catch (error) {
      return { reading: { ok: false, url: referralUrl(referralId), error: describeError(error) }, raw: null };
    }
  };

  const readSalesforce = async (opportunityId: string | null): Promise<Read<DealRecord>> => {
    if (!opportunityId)
      return {
        reading: {
          ok: false,
          url: null,
          missing: true,
          error: 'No Opportunity yet: the pair is not complete.',
        },
        raw: null,
      };
    try {
      const records = await deps.crm.deals.readDeals('id', [opportunityId], outboundFields({ mapping, crm }));
      const record = records.get(opportunityId);
      if (!record)
        return {
          reading: {
            ok: false,
            url: opportunityUrl(opportunityId),
            error: `Opportunity ${opportunityId} not found (deleted, or not visible to the integration user).`,
          },
          raw: null,
        };
      const reading: SideReading = {
        ok: true,
        url: opportunityUrl(opportunityId),
        values: canonicalFromOpportunity(record, mapping),
        facts: {
          status: (record[crm.fields.syncStatus] as string | undefined) ?? null,
          sync: record[crm.fields.syncFlag] === true ? 'on' : 'off',
        },
      };
      return { reading, raw: record };
    } catch (error) {
      return {
        reading: { ok: false, url: opportunityUrl(opportunityId), error: describeError(error) },
        raw: null,
      };
    }
  };

  /** The dry run, when every side the pair has could be read (a missing side plans a create). */
  const planOf = (
    pc: Read<Referral>,
    sf: Read<DealRecord>,
    lastAgreed: Record<string, unknown> | null,
  ): PairPlan | null => {
    const readable = (side: Read<unknown>) => side.reading.ok || side.reading.missing === true;
    if (!readable(pc) || !readable(sf)) return null;
    const account = sf.raw?.[crm.fields.account] as Record<string, unknown> | null | undefined;
    return planPair({
      referral: pc.raw,
      deal: sf.raw ? { opportunity: sf.raw, account: account ?? null } : null,
      lastAgreed,
      mapping,
    });
  };

  return {
    searchLinks: (search) => searchLinks(pool, search),
    async pairDetail(linkId) {
      const link = await findLinkDetail(pool, linkId);
      if (!link) return null;
      const [pc, sf, audit] = await Promise.all([
        readPartnerCenter(link.referralId),
        readSalesforce(link.opportunityId),
        listPairAudit(pool, link.referralId, link.opportunityId, 100),
      ]);
      const partnerCenter = pc.reading;
      const salesforce = sf.reading;
      return {
        link,
        partnerCenter,
        salesforce,
        plan: planOf(pc, sf, link.syncedValues),
        fields: compareFields(
          mapping,
          partnerCenter.ok ? partnerCenter.values : null,
          salesforce.ok ? salesforce.values : null,
          link.syncedValues,
        ),
        audit,
      };
    },
    async mappingTest(id) {
      const link = (await findLinkByReferral(pool, id)) ?? (await findLinkByOpportunity(pool, id));
      if (!link) return null;
      const [pc, sf] = await Promise.all([
        readPartnerCenter(link.referralId),
        readSalesforce(link.opportunityId),
      ]);
      return {
        linkId: link.id,
        referralId: link.referralId,
        opportunityId: link.opportunityId,
        partnerCenter: pc.reading,
        salesforce: sf.reading,
        plan: planOf(pc, sf, link.outboundValues),
      };
    },
    syncSeries: (range) => deps.syncStats.series(range),
    deadLetterKinds: async () => groupByKind(await listDeadLetterErrors(pool)),
    async retryDeadLetterKind(kind) {
      const ids = (await listDeadLetterErrors(pool))
        .filter((job) => errorKind(job.lastError) === kind)
        .map((job) => job.id);
      if (ids.length === 0) return 0;
      let retried = 0;
      for (const id of ids) if ((await retryDeadLetter(pool, id)) !== null) retried += 1;
      await recordAudit(pool, {
        direction: 'system',
        level: 'INFO',
        message: `${retried} dead letter(s) of kind "${kind}" put back in the queue`,
        details: { jobIds: ids },
      });
      return retried;
    },
  };
}
