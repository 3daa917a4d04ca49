import { LightningElement, api } from 'lwc';

/**
 * The seller's settings as the panel's draft holds them. The panel owns the draft and the save;
 * this component shows it and reports each edit as a draftchange event ({ name, value }), and the
 * buttons as save and cancel events.
 */
export default class ReferralSettings extends LightningElement {
  /** { sync, visibility, help, solutions } */
  @api draft = {};
  /** Which of the draft's fields the user may update: { sync, visibility, help, solutions } */
  @api editable = {};
  /** The help picklist's values for the record type: [{ label, value }] */
  @api helpValues = [];
  @api dirty = false;
  @api saving = false;

  get syncReadOnly() {
    return !this.editable.sync;
  }

  get visibilityReadOnly() {
    return !this.editable.visibility;
  }

  get canEditHelp() {
    return this.editable.help === true;
  }

  get canEditSolutions() {
    return this.editable.solutions === true;
  }

  get canEditAny() {
    return Object.values(this.editable).some((value) => value === true);
  }

  get helpOptions() {
    return [{ label: '--None--', value: '' }, ...this.helpValues];
  }

  get helpLabel() {
    const value = this.draft.help;
    const option = this.helpValues.find((entry) => entry.value === value);
    return option ? option.label : value || 'None';
  }

  get solutionsText() {
    return this.draft.solutions || 'None';
  }

  get buttonsDisabled() {
    return !this.dirty || this.saving;
  }

  handleSyncChange(event) {
    this.notify('sync', event.target.checked);
  }

  handleVisibilityChange(event) {
    this.notify('visibility', event.target.checked);
  }

  handleHelpChange(event) {
    this.notify('help', event.detail.value);
  }

  handleSolutionsChange(event) {
    this.notify('solutions', event.detail.value);
  }

  handleCancel() {
    this.dispatchEvent(new CustomEvent('cancel'));
  }

  handleSave() {
    this.dispatchEvent(new CustomEvent('save'));
  }

  notify(name, value) {
    this.dispatchEvent(new CustomEvent('draftchange', { detail: { name, value } }));
  }
}
