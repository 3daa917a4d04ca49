/**
 * Turns whatever Lightning Data Service, Apex or the browser threw into a list of readable
 * messages. UI API errors carry their detail in body.output (errors and fieldErrors), Apex and
 * network errors in body.message, JavaScript errors in message.
 */
export function reduceErrors(errors) {
  const list = Array.isArray(errors) ? errors : [errors];
  return list
    .filter((error) => !!error)
    .flatMap((error) => messagesOf(error))
    .filter((message) => typeof message === 'string' && message.length > 0);
}

function messagesOf(error) {
  if (typeof error === 'string') {
    return [error];
  }
  const body = error.body;
  if (Array.isArray(body)) {
    return body.map((item) => item.message);
  }
  if (body) {
    const output = body.output ?? {};
    const fieldMessages = Object.values(output.fieldErrors ?? {})
      .flat()
      .map((fieldError) => fieldError.message);
    const recordMessages = (output.errors ?? []).map((recordError) => recordError.message);
    const detailed = [...recordMessages, ...fieldMessages];
    if (detailed.length > 0) {
      return detailed;
    }
    if (typeof body.message === 'string') {
      return [body.message];
    }
  }
  if (typeof error.message === 'string') {
    return [error.message];
  }
  if (typeof error.statusText === 'string') {
    return [error.statusText];
  }
  return [];
}
