-- The version of the last Opportunity state the relay sent to Partner Center: the record's
-- SystemModstamp when it was queried, or the CreatedDate of the Referral_Sync__e whose snapshot was
-- sent. An outbound job never sends a state older than this. (Inbound compares the referral's
-- updatedDateTime with referral_updated_at, already kept.)
alter table cosell.links add column opportunity_version timestamptz;
