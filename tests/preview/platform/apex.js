/**
 * @salesforce/apex/<Class>.<method> for the preview; each method the panel calls is answered here,
 * against the preview's record.
 */
import { currentRecord, writeFields } from './previewStore';

const handlers = {
  // As ReferralInboxController.respond: records the answer; the trigger marks the save Pending.
  'ReferralInboxController.respond': ({ response, reason }) => {
    const accepted = response === 'Accept';
    if (!accepted && !reason) {
      throw { body: { message: 'reason: a declined referral needs a reason for Microsoft' } };
    }
    if (currentRecord().fields.Referral_Status__c?.value !== 'New') {
      throw { body: { message: 'Only a New/Pending or New/Received referral can be accepted or declined' } };
    }
    writeFields({
      StageName: accepted ? 'Qualification' : 'Closed Lost',
      Referral_Response__c: accepted ? 'Accepted' : 'Declined',
      Referral_Decline_Reason__c: accepted ? null : reason,
      Referral_Sync_Status__c: 'Pending',
    });
    return accepted ? 'Active/Accepted' : 'Closed/Declined';
  },
  // As ReferralSyncNowController.requestSync: the record waits for the relay's answer.
  'ReferralSyncNowController.requestSync': () => {
    if (currentRecord().fields.Sync_with_Partner_Center__c?.value !== true) {
      throw { body: { message: 'Turn on Sync with Partner Center first' } };
    }
    writeFields({ Referral_Sync_Status__c: 'Pending' });
    return 'Pending';
  },
};

export function apexMethod(name) {
  return async (params) => {
    const handler = handlers[name];
    if (!handler) {
      throw { body: { message: `The preview has no answer for Apex ${name}` } };
    }
    return handler(params);
  };
}
