-- cosell-sync relay state. The job queue itself is graphile-worker's (schema graphile_worker).
create schema if not exists cosell;

-- One row per synced pair. A referral created from Salesforce has an opportunity_id before it
-- has a referral_id; one that arrives from Partner Center is the other way round.
create table cosell.links (
  id bigserial primary key,
  referral_id text unique,
  opportunity_id text unique,
  engagement_id text,
  account_id text,
  referral_etag text,
  referral_updated_at timestamptz,
  -- What the relay last wrote or confirmed on each side, as mapped values, so an echo of its own
  -- write (or a no-op webhook) is recognised without calling anyone.
  inbound_values jsonb,
  inbound_fingerprint text,
  outbound_values jsonb,
  outbound_fingerprint text,
  sync_status text not null default 'Pending' check (sync_status in ('Synced', 'Pending', 'Error')),
  last_error text,
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (referral_id is not null or opportunity_id is not null)
);

create table cosell.audit_events (
  id bigserial primary key,
  at timestamptz not null default now(),
  direction text not null check (direction in ('inbound', 'outbound', 'system')),
  level text not null check (level in ('INFO', 'ERROR')),
  referral_id text,
  opportunity_id text,
  job_id text,
  message text not null,
  details jsonb
);
create index audit_events_at on cosell.audit_events (at desc);
create index audit_events_referral on cosell.audit_events (referral_id, at desc);
create index audit_events_opportunity on cosell.audit_events (opportunity_id, at desc);

-- Partner Center sends no event id: a delivery is identified by (event name, referral id,
-- ResourceChangeUtcDate). A repeated delivery finds its row and is acknowledged without a job.
create table cosell.webhook_receipts (
  event_name text not null,
  referral_id text not null,
  change_date text not null,
  received_at timestamptz not null default now(),
  primary key (event_name, referral_id, change_date)
);
create index webhook_receipts_received on cosell.webhook_receipts (received_at);

-- Named positions: Pub/Sub replay ids (raw bytes) and the reconciler's watermark.
create table cosell.checkpoints (
  name text primary key,
  value bytea not null,
  updated_at timestamptz not null default now()
);

-- The MSAL token cache, encrypted with TOKEN_CACHE_KEY (AES-256-GCM).
create table cosell.token_cache (
  name text primary key,
  iv bytea not null,
  tag bytea not null,
  ciphertext bytea not null,
  updated_at timestamptz not null default now()
);

-- Live worker pools. graphile-worker keeps a killed worker's jobs locked for hours; at start we
-- force-unlock the pools whose process is gone (same host, dead pid) or whose heartbeat is stale.
create table cosell.worker_pools (
  pool_id text primary key,
  worker_ids text[] not null default '{}',
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);
