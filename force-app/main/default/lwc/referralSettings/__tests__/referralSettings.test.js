import { createElement } from '@lwc/engine-dom';
import ReferralSettings from 'c/referralSettings';
import { byDataId, flushPromises, resetDom } from 'test-utils';

const settings = require('./data/settings.json');

async function render(overrides = {}) {
  const element = createElement('c-referral-settings', { is: ReferralSettings });
  Object.assign(
    element,
    { draft: settings.draft, editable: settings.editableAll, helpValues: settings.helpValues },
    overrides,
  );
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

function collect(element, name) {
  const events = [];
  element.addEventListener(name, (event) => events.push(event.detail));
  return events;
}

describe('c-referral-settings', () => {
  afterEach(() => {
    resetDom();
  });

  it('shows the draft in editable inputs and disabled buttons when the user may edit and nothing changed', async () => {
    const element = await render();

    expect(byDataId(element, 'sync').checked).toBe(true);
    expect(byDataId(element, 'visibility').checked).toBe(false);
    expect(byDataId(element, 'help').value).toBe('ProofOfConceptOrDemo');
    expect(byDataId(element, 'help').options.map((option) => option.value)).toEqual([
      '',
      'WorkloadSpecificValueProposition',
      'ProofOfConceptOrDemo',
    ]);
    expect(byDataId(element, 'solutions').value).toBe('SOL-34104-EBB');
    expect(byDataId(element, 'save').disabled).toBe(true);
    expect(byDataId(element, 'cancel').disabled).toBe(true);
    await expect(element).toBeAccessible();
  });

  it('shows labels instead of inputs and no buttons when the user may edit nothing', async () => {
    const element = await render({ editable: settings.editableNone });

    expect(byDataId(element, 'help')).toBeNull();
    expect(byDataId(element, 'help-readonly').textContent).toBe('Proof of concept or demo');
    expect(byDataId(element, 'solutions-readonly').textContent).toBe('SOL-34104-EBB');
    expect(byDataId(element, 'sync').disabled).toBe(true);
    expect(byDataId(element, 'visibility').disabled).toBe(true);
    expect(byDataId(element, 'save')).toBeNull();
    await expect(element).toBeAccessible();
  });

  it('shows None when a read-only field is empty', async () => {
    const element = await render({
      editable: settings.editableNone,
      draft: { ...settings.draft, help: '', solutions: '' },
    });

    expect(byDataId(element, 'help-readonly').textContent).toBe('None');
    expect(byDataId(element, 'solutions-readonly').textContent).toBe('None');
    await expect(element).toBeAccessible();
  });

  it('reports each edit as a draftchange when the seller changes an input', async () => {
    const element = await render();
    const changes = collect(element, 'draftchange');

    const toggle = byDataId(element, 'visibility');
    toggle.checked = true;
    toggle.dispatchEvent(new CustomEvent('change'));
    byDataId(element, 'help').dispatchEvent(new CustomEvent('change', { detail: { value: '' } }));
    byDataId(element, 'solutions').dispatchEvent(
      new CustomEvent('change', { detail: { value: 'SOL-50000-AAA' } }),
    );

    expect(changes).toEqual([
      { name: 'visibility', value: true },
      { name: 'help', value: '' },
      { name: 'solutions', value: 'SOL-50000-AAA' },
    ]);
  });

  it('enables the buttons and sends save and cancel when the draft is dirty', async () => {
    const element = await render({ dirty: true });
    const saves = collect(element, 'save');
    const cancels = collect(element, 'cancel');

    expect(byDataId(element, 'save').disabled).toBe(false);
    byDataId(element, 'save').click();
    byDataId(element, 'cancel').click();

    expect(saves).toHaveLength(1);
    expect(cancels).toHaveLength(1);
    await expect(element).toBeAccessible();
  });

  it('disables the buttons when a save is under way', async () => {
    const element = await render({ dirty: true, saving: true });

    expect(byDataId(element, 'save').disabled).toBe(true);
    expect(byDataId(element, 'cancel').disabled).toBe(true);
    await expect(element).toBeAccessible();
  });
});
