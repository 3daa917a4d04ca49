/**
 * The preview's stand-in for the org: the state the page was opened with (?state=<name>) picks a
 * record, object info and picklist values from the fixtures the build wrote (preview:fixtures), and
 * a save merges into that record and hands it to every connected getRecord wire, as Lightning Data
 * Service would after a save.
 */
import fixtures from 'preview:fixtures';

const requested = new URLSearchParams(window.location.search).get('state');
const state = fixtures.states.find((entry) => entry.name === requested) ?? fixtures.states[0];
let record = state.record ? JSON.parse(JSON.stringify(state.record)) : null;
if (record && state.createdHoursAgo !== undefined) {
  const created = new Date(Date.now() - state.createdHoursAgo * 60 * 60 * 1000).toISOString();
  record.fields.Referral_Created_Date__c = { value: created, displayValue: null };
}
const recordListeners = new Set();

export function currentState() {
  return state;
}

export function currentRecord() {
  return record;
}

export function onRecordChange(listener) {
  recordListeners.add(listener);
  return () => recordListeners.delete(listener);
}

/** Merges `fields` ({ apiName: value }) into the record and tells every getRecord wire. */
export function writeFields(fields) {
  if (!record) {
    throw new Error('The preview has no record to write to in this state');
  }
  const next = JSON.parse(JSON.stringify(record));
  for (const [name, value] of Object.entries(fields)) {
    if (name !== 'Id') {
      next.fields[name] = { value, displayValue: null };
    }
  }
  record = next;
  for (const listener of recordListeners) {
    listener(record);
  }
  return record;
}
