-- One row per notification the relay has queued for a subject (a referral's arrival, its acceptance,
-- its decline, its approaching expiry): a retried job, a second instance or the next expiry scan
-- finds the row and queues nothing again.
create table cosell.notifications_sent (
  kind text not null,
  subject text not null,
  queued_at timestamptz not null default now(),
  primary key (kind, subject)
);
