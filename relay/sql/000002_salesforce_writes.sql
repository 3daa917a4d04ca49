-- The relay's own writes to each Opportunity, so an event's record snapshot can be trusted only when
-- it already includes every one of them (the package counts them in Relay_Write_Count__c).
alter table cosell.links
  -- Writes begun, ever: a write that begins after a read makes the read's count unusable.
  add column sf_write_seq bigint not null default 0,
  -- Writes begun and not yet answered.
  add column sf_writes_pending integer not null default 0,
  add column sf_write_started_at timestamptz,
  -- Relay_Write_Count__c as the relay knows it; null when unknown (a write failed, or not yet read).
  add column sf_writes_landed bigint;
