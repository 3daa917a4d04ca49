/** lightning/platformShowToastEvent for the preview; app/main.js shows what the panel sends. */
export class ShowToastEvent extends CustomEvent {
  constructor(toast) {
    super('lightning__showtoast', { bubbles: true, composed: true, cancelable: true, detail: toast });
  }
}
