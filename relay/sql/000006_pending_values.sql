-- What an inbound write is about to make both sides hold (canonical values by mapping entry), set
-- when the write begins and cleared when the link saves the agreement after it. A relay killed in
-- between leaves it here: a later job that finds the Opportunity holding exactly these values knows
-- they are the relay's own write, not a seller's edit to send back over Partner Center's newer ones.
alter table cosell.links add column pending_values jsonb;
