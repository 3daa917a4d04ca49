/** @salesforce/apex/<Class>.<method> for the preview; each method the panel calls is answered here. */
const handlers = {};

export function apexMethod(name) {
  return async (params) => {
    const handler = handlers[name];
    if (!handler) {
      throw { body: { message: `The preview has no answer for Apex ${name}` } };
    }
    return handler(params);
  };
}
