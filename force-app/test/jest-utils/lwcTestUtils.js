/**
 * Helpers every component test shares (mapped as 'test-utils' in jest.config.cjs).
 */

/** Lets wire emissions and re-renders settle. Microtask-only, so it also works under fake timers. */
export async function flushPromises() {
  for (let i = 0; i < 20; i += 1) {
    await Promise.resolve();
  }
}

/**
 * The first element matching `selector` inside `root`'s shadow tree or any child component's,
 * depth first: the panel's children render in their own shadow roots, which querySelector does not
 * cross.
 */
export function deepQuery(root, selector) {
  return deepQueryAll(root, selector)[0] ?? null;
}

/** Every element matching `selector` in `root`'s shadow tree and its children's, in document order. */
export function deepQueryAll(root, selector) {
  const found = [];
  const visit = (scope) => {
    for (const element of scope.querySelectorAll('*')) {
      if (element.matches(selector)) {
        found.push(element);
      }
      if (element.shadowRoot) {
        visit(element.shadowRoot);
      }
    }
  };
  visit(root.shadowRoot ?? root);
  return found;
}

/** The element with data-id="<id>" anywhere in the component's tree. */
export function byDataId(root, id) {
  return deepQuery(root, `[data-id="${id}"]`);
}

/** Removes what a test appended to the document, so the next test starts from an empty body. */
export function resetDom() {
  while (document.body.firstChild) {
    document.body.removeChild(document.body.firstChild);
  }
}
