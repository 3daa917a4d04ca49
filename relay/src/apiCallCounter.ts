/**
 * Counts Partner Center requests by endpoint for /metrics, as a fetch wrapper handed to the
 * clients (they take a `fetch` option), so the clients themselves stay unaware of metrics.
 */
export function countingFetch(
  count: (method: string, url: string) => void,
  inner: typeof fetch = globalThis.fetch,
): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    count((init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(), url);
    return inner(input, init);
  };
}

/**
 * `GET /v1.0/engagements/referrals/{id}`: the method and path with ids (any segment holding a
 * digit) blanked, so each endpoint is one series however many referrals there are.
 */
export function partnerCenterEndpoint(method: string, url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    pathname = url.split('?')[0];
  }
  const path = pathname
    .split('/')
    .map((segment) => (/\d/.test(segment) && !/^v\d+(\.\d+)?$/.test(segment) ? '{id}' : segment))
    .join('/');
  return `${method} ${path}`;
}
