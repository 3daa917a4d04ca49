/**
 * lightning/uiRecordApi for the preview, served from previewStore. getRecord answers with the
 * state's record, or its error, or never (the loading state).
 */
import { currentRecord, currentState, onRecordChange, writeFields } from './previewStore';

export class getRecord {
  constructor(dataCallback) {
    this.dataCallback = dataCallback;
    this.unsubscribe = null;
  }

  connect() {
    this.unsubscribe = onRecordChange((record) => this.dataCallback({ data: record, error: undefined }));
  }

  disconnect() {
    this.unsubscribe?.();
  }

  update(config) {
    if (!config.recordId) {
      return;
    }
    const state = currentState();
    if (state.recordError) {
      this.dataCallback({ data: undefined, error: state.recordError });
    } else if (currentRecord()) {
      this.dataCallback({ data: currentRecord(), error: undefined });
    }
  }
}

export function getFieldValue(record, field) {
  const name = typeof field === 'string' ? field.split('.').pop() : field.fieldApiName;
  return record?.fields?.[name]?.value;
}

export function getFieldDisplayValue(record, field) {
  const name = typeof field === 'string' ? field.split('.').pop() : field.fieldApiName;
  return record?.fields?.[name]?.displayValue;
}

export async function updateRecord({ fields }) {
  const state = currentState();
  if (state.updateError) {
    throw state.updateError;
  }
  return writeFields(fields);
}

export async function notifyRecordUpdateAvailable() {
  return undefined;
}
