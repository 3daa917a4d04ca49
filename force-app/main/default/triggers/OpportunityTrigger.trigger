trigger OpportunityTrigger on Opportunity(after insert, after update) {
    new OpportunityTriggerHandler(Trigger.operationType, Trigger.new, Trigger.oldMap).run();
}
