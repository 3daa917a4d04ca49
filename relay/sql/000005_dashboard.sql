-- The dashboard at 10,000 links and more: list, filter and page links newest first without
-- sorting the table, and find them by the name the pair was last synced with.
alter table cosell.links
  add column display_name text generated always as
    (coalesce(outbound_values ->> 'name', inbound_values ->> 'Name')) stored;
create index links_recent on cosell.links (updated_at desc, id desc);
create index links_status_recent on cosell.links (sync_status, updated_at desc, id desc);

-- Syncs per minute and direction for the dashboard's charts: writes made, job attempts failed, and
-- latency (change → write) as counts per bucket of relay/src/syncRollup.ts. Every instance adds its
-- own counts to the same rows; rows older than two days are pruned.
create table cosell.sync_minutes (
  minute timestamptz not null,
  direction text not null check (direction in ('inbound', 'outbound')),
  syncs integer not null default 0,
  errors integer not null default 0,
  latency_buckets integer[] not null,
  primary key (minute, direction)
);
