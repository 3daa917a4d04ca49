-- When the pair's CRM record was deleted (its Deleted change event), until it is restored: the
-- inbound sync then leaves the referral alone instead of making a new record for it.
alter table cosell.links add column deal_deleted_at timestamptz;
