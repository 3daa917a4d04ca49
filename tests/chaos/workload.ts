/**
 * The people on both sides: Microsoft sharing referrals and the customer's side changing them in
 * Partner Center, sellers creating and editing Opportunities in Salesforce (one record a save and
 * 200 a save), switching sync off and on. Both sides edit the same records, each its own fields,
 * so every field has one side whose last write must end up on both: name and Amount are the
 * seller's, the notes (Description ↔ details.notes) are Partner Center's. Every written value is
 * unique (a counter in it), so a value that went back in time is seen as such.
 */
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { sampleReferral } from '../support/relayHarness.ts';
import { signInSeller } from '../support/seller.ts';
import type { Seller } from '../support/seller.ts';

export type Origin = 'partner-center' | 'salesforce';

export interface Pair {
  index: number;
  origin: Origin;
  /** Created by a seller with "How can Microsoft help?": the relay makes two referrals. */
  coSell: boolean;
  referralId?: string;
  opportunityId?: string;
  syncOn: boolean;
  /** The last value each owning side wrote, and which side that is. */
  name: string;
  amount: number;
  notes: string;
}

/** One step of the workload, decided by the schedule alone (pair numbers, not ids). */
export type Operation =
  | { kind: 'pc-create' }
  | { kind: 'sf-create'; coSell: boolean }
  | { kind: 'pc-update'; pair: number }
  | { kind: 'sf-update'; pair: number }
  | { kind: 'sf-bulk'; pairs: number[] }
  | { kind: 'sync-off'; pair: number }
  | { kind: 'sync-on'; pair: number };

export interface Workload {
  pairs: Pair[];
  seller: Seller;
  /** Changes made so far (a 200-record save counts 200). */
  changes(): number;
  /** REST calls the seller made (they count against the org's allocation as well). */
  sellerCalls(): number;
  run(operation: Operation): Promise<void>;
  /** Switches sync back on wherever the workload left it off. */
  syncAllOn(): Promise<void>;
}

const sameId = (a: unknown, b: unknown) =>
  typeof a === 'string' && typeof b === 'string' && a.slice(0, 15) === b.slice(0, 15);

export async function startWorkload(
  sandboxes: Sandboxes,
  options: { waitMs: number; log: (line: string) => void },
): Promise<Workload> {
  const seller = await signInSeller(sandboxes);
  const pairs: Pair[] = [];
  let changes = 0;
  let sellerCalls = 0;
  let counter = 0;
  const unique = () => ++counter;
  const { partnerCenter, salesforce } = sandboxes;

  // A seller whose save fails (a lock, the org over its API limit) saves again, as people do.
  const asSeller = async <T>(what: string, op: () => Promise<T>, calls = 1): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      sellerCalls += calls;
      try {
        return await op();
      } catch (error) {
        if (attempt >= 40) throw new Error(`seller ${what} failed ${attempt} times`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * attempt)));
      }
    }
  };

  // Ids the relay makes (the Opportunity of a shared referral, the referral of a seller's record).
  const waitForIds = async (pair: Pair): Promise<boolean> => {
    const deadline = Date.now() + options.waitMs;
    while (Date.now() < deadline) {
      if (!pair.opportunityId && pair.referralId) {
        const found = salesforce.store.findBy('Opportunity', 'Referral_Identifier__c', pair.referralId)[0];
        if (found) pair.opportunityId = found.Id as string;
      }
      if (!pair.referralId && pair.opportunityId) {
        const found = partnerCenter.referrals
          .list()
          .find(
            (r) =>
              sameId(r.externalReferenceId, pair.opportunityId) &&
              !((r.target as Array<{ id?: string }> | undefined) ?? []).some((t) => t.id === 'msft'),
          );
        if (found) pair.referralId = found.id;
      }
      if (pair.referralId && pair.opportunityId) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    options.log(`pair ${pair.index} (${pair.origin}) has no counterpart after ${options.waitMs} ms; skipped`);
    return false;
  };

  const run = async (operation: Operation): Promise<void> => {
    switch (operation.kind) {
      case 'pc-create': {
        const n = unique();
        const pair: Pair = {
          index: pairs.length,
          origin: 'partner-center',
          coSell: false,
          syncOn: true,
          name: `Shared ${n}`,
          amount: 10_000 + n,
          notes: `pc notes ${n}`,
        };
        pairs.push(pair);
        const referral = partnerCenter.referrals.createAsMicrosoft(
          sampleReferral({
            name: pair.name,
            status: 'Active',
            substatus: 'Accepted',
            details: {
              ...(sampleReferral().details as Record<string, unknown>),
              dealValue: pair.amount,
              notes: pair.notes,
            },
          }),
        );
        pair.referralId = referral.id;
        changes++;
        return;
      }
      case 'sf-create': {
        const n = unique();
        const pair: Pair = {
          index: pairs.length,
          origin: 'salesforce',
          coSell: operation.coSell,
          syncOn: true,
          name: `Seller ${n}`,
          amount: 20_000 + n,
          notes: `sf notes ${n}`,
        };
        pairs.push(pair);
        const values = {
          Name: pair.name,
          Amount: pair.amount,
          Description: pair.notes,
          ...(operation.coSell ? { How_can_Microsoft_help__c: 'ProofOfConceptOrDemo' } : {}),
        };
        const opportunityId = await asSeller('create', () => seller.createOpportunity(values), 2);
        pair.opportunityId = opportunityId;
        if (operation.coSell) {
          const accountId = salesforce.store.get('Opportunity', opportunityId)?.AccountId as string;
          await asSeller('add contact', () => seller.addPrimaryContact(opportunityId, accountId), 2);
        }
        await asSeller('switch sync on', () =>
          seller.update(opportunityId, { Sync_with_Partner_Center__c: true }),
        );
        changes++;
        return;
      }
      case 'pc-update': {
        const pair = pairs[operation.pair];
        // Partner Center's side only edits records whose sync is on: with it off, the seller has
        // said the Opportunity is not to follow the referral.
        if (!pair.syncOn || !(await waitForIds(pair))) return;
        const notes = `pc notes ${unique()}`;
        partnerCenter.referrals.update(pair.referralId!, { details: { notes } });
        pair.notes = notes;
        changes++;
        return;
      }
      case 'sf-update': {
        const pair = pairs[operation.pair];
        if (!(await waitForIds(pair))) return;
        const n = unique();
        const name = `${pair.origin === 'salesforce' ? 'Seller' : 'Shared'} ${pair.index} v${n}`;
        await asSeller('update', () =>
          seller.update(pair.opportunityId!, { Name: name, Amount: 30_000 + n }),
        );
        pair.name = name;
        pair.amount = 30_000 + n;
        changes++;
        return;
      }
      case 'sf-bulk': {
        const chosen: Pair[] = [];
        for (const index of operation.pairs) {
          const pair = pairs[index];
          if (pair && (await waitForIds(pair))) chosen.push(pair);
        }
        if (chosen.length === 0) return;
        const values = chosen.map((pair) => ({ pair, amount: 40_000 + unique() }));
        await asSeller('mass edit', () =>
          seller.updateMany(values.map(({ pair, amount }) => ({ Id: pair.opportunityId!, Amount: amount }))),
        );
        for (const { pair, amount } of values) pair.amount = amount;
        changes += values.length;
        return;
      }
      case 'sync-off':
      case 'sync-on': {
        const pair = pairs[operation.pair];
        const on = operation.kind === 'sync-on';
        if (pair.syncOn === on || !(await waitForIds(pair))) return;
        await asSeller('switch sync', () =>
          seller.update(pair.opportunityId!, { Sync_with_Partner_Center__c: on }),
        );
        pair.syncOn = on;
        changes++;
        return;
      }
    }
  };

  return {
    pairs,
    seller,
    changes: () => changes,
    sellerCalls: () => sellerCalls,
    run,
    async syncAllOn() {
      for (const pair of pairs) if (!pair.syncOn) await run({ kind: 'sync-on', pair: pair.index });
    },
  };
}
