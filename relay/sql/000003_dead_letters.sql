-- Dead letters of sync jobs: a record whose sync no retry can fix (a validation rule, a value the
-- target refuses) or that ran out of attempts. At most one open dead letter per record and
-- direction: a later failure of the same record (every reconcile or backfill re-enqueues it)
-- updates it, a successful sync closes it. The job itself ends; graphile-worker keeps no failed
-- job, whose key it would clear so that the next enqueue added a second one.
create table cosell.dead_letters (
  -- The id of the job that first gave up on the record (graphile-worker never reuses job ids).
  id bigint primary key,
  direction text not null check (direction in ('inbound', 'outbound')),
  -- The referral id (inbound) or the Opportunity id (outbound).
  record_id text not null,
  task text not null,
  job_key text,
  payload jsonb not null,
  referral_id text,
  opportunity_id text,
  last_error text not null,
  permanent boolean not null,
  attempts integer not null,
  max_attempts integer not null,
  -- Jobs that gave up on this record while the dead letter was open.
  failures integer not null default 1,
  first_failed_at timestamptz not null default now(),
  last_failed_at timestamptz not null default now(),
  -- Put back in the queue by an operator; hidden from the list until it fails again.
  retried_at timestamptz,
  closed_at timestamptz,
  closed_reason text check (closed_reason in ('synced', 'dropped'))
);

create unique index dead_letters_one_open on cosell.dead_letters (direction, record_id) where closed_at is null;
create index dead_letters_open_recent on cosell.dead_letters (last_failed_at desc) where closed_at is null;
