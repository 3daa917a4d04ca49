import { silentLogger } from '../../../src/logger.ts';
import type { Logger } from '../../../src/logger.ts';
import { toId18 } from '../ids.ts';
import type { SandboxAuth } from '../auth.ts';
import type { RecordChange } from '../recordStore.ts';
import type { TriggerRule } from '../triggerRule.ts';
import type { CallAuth, Principal, PubSubSandbox } from './pubsubSandbox.ts';

/**
 * Wiring between the sandbox's REST half and its Pub/Sub half: what the package's Opportunity
 * trigger does in a real org (publish Referral_Sync__e after commit when the rule says so), and
 * Pub/Sub authentication against the sessions the sandbox's OAuth endpoint issued.
 */

export interface TriggerHookOptions {
  store: {
    onChange(listener: (change: RecordChange) => void): () => void;
    onBeforeSave(listener: (change: RecordChange) => Record<string, unknown> | void): () => void;
  };
  rule: TriggerRule;
  pubsub: Pick<PubSubSandbox, 'publish'>;
  logger?: Logger;
}

/** Subscribes the rule to committed writes; returns the unsubscribe function. */
export function connectTriggerRule(options: TriggerHookOptions): () => void {
  const logger = (options.logger ?? silentLogger()).child({ module: 'sandbox.trigger' });
  const topic = `/event/${options.rule.describe().eventName}`;
  // The before-save half of the trigger: relay write count, audit entries, Pending on a published save.
  const stopBefore = options.store.onBeforeSave((change) => options.rule.beforeSave(change));
  const stopAfter = options.store.onChange((change) => {
    const decision = options.rule.decide(change);
    if (!decision.publish) return;
    try {
      const published = options.pubsub.publish(topic, {
        ...options.rule.payload(change, decision),
        CreatedById: change.userId,
      });
      logger.debug(
        { opportunityId: change.after.Id, changeKind: decision.changeKind, eventId: published.eventId },
        'published',
      );
    } catch (error) {
      // As in ReferralSyncService: a refused event never fails the seller's save.
      logger.error(
        { opportunityId: change.after.Id, err: error instanceof Error ? error.message : String(error) },
        'event not published',
      );
    }
  });
  return () => {
    stopBefore();
    stopAfter();
  };
}

/**
 * What the panel's Sync now button does in a real org (ReferralSyncNowController.requestSync): the
 * record must exist with Sync with Partner Center on; it shows Pending, and one Referral_Sync__e of
 * kind Resync with the record's snapshot goes to the relay. Throws with the controller's message.
 */
export function requestSyncNow(
  options: Pick<TriggerHookOptions, 'rule' | 'pubsub'> & {
    store: TriggerHookOptions['store'] & {
      get(sobject: string, id: string): Record<string, unknown> | undefined;
      update(
        sobject: string,
        id: string,
        values: Record<string, unknown>,
        userId: string,
      ): Record<string, unknown>;
    };
  },
  opportunityId: string,
  userId: string,
): string {
  const before = options.store.get('Opportunity', opportunityId);
  if (!before) throw new Error('The Opportunity is not there or you may not read it');
  if (before.Sync_with_Partner_Center__c !== true) throw new Error('Turn on Sync with Partner Center first');
  const after = options.store.update(
    'Opportunity',
    opportunityId,
    { Referral_Sync_Status__c: 'Pending' },
    userId,
  );
  const change = { sobject: 'Opportunity', operation: 'update' as const, before, after, userId };
  const published = options.pubsub.publish(`/event/${options.rule.describe().eventName}`, {
    ...options.rule.payload(change, { publish: true, changeKind: 'Resync', changedFields: [] }),
    CreatedById: userId,
  });
  return published.eventId;
}

/**
 * Accepts a Pub/Sub call whose `accesstoken` is a live sandbox session and whose `tenantid` names
 * the sandbox org (15- or 18-character form).
 */
export function authenticateWithSessions(
  auth: Pick<SandboxAuth, 'session'>,
  orgId: string,
): (call: CallAuth) => Principal | null {
  const org18 = toId18(orgId);
  return (call) => {
    if (!call.accessToken || toId18(call.tenantId) !== org18) return null;
    const session = auth.session(`Bearer ${call.accessToken}`);
    return session ? { userId: session.user.id, orgId: org18 as string } : null;
  };
}
