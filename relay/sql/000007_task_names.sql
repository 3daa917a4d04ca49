-- The sync tasks' names say the direction (inbound / outbound) instead of the system (pc / sf).
-- Dead letters keep the task they retry as; queued graphile-worker jobs with the older names still
-- run (store/queue.ts LEGACY_TASKS), so only our table is renamed here.
update cosell.dead_letters set task = 'inbound-referral-changed' where task = 'pc-referral-changed';
update cosell.dead_letters set task = 'outbound-deal-changed' where task = 'sf-opportunity-changed';
update cosell.dead_letters set task = 'outbound-event-undecodable' where task = 'sf-event-undecodable';
