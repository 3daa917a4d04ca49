/** lightning/uiObjectInfoApi for the preview: the state's object info and help picklist values. */
import { currentState } from './previewStore';

class FixtureAdapter {
  constructor(dataCallback) {
    this.dataCallback = dataCallback;
  }

  connect() {}

  disconnect() {}

  update(config) {
    const data = this.read(config);
    if (data) {
      this.dataCallback({ data, error: undefined });
    }
  }
}

export class getObjectInfo extends FixtureAdapter {
  read() {
    return currentState().objectInfo;
  }
}

export class getPicklistValues extends FixtureAdapter {
  read(config) {
    return config.recordTypeId ? currentState().picklistValues : undefined;
  }
}
