import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { RequestError } from '../errors.ts';

/**
 * Downloads the webhook signing certificate named by `x-ms-certificate-url`. The URL comes from
 * the unauthenticated request, so it is pinned before any connection is made (contract §3.5:
 * https only, allowlisted host, `/cert/*.cer` path, no query/userinfo/fragment) — otherwise the
 * relay would fetch whatever an attacker names (SSRF) and trust whatever it got back.
 */

const HEADER = 'x-ms-certificate-url';

export interface CertificateFetcherOptions {
  /** `host` (default port only) or `host:port`. */
  allowedHosts: string[];
  pathPattern: RegExp;
  /** Extra CA trusted for the HTTPS download, on top of Node's bundled roots. */
  httpsCaPem?: string;
  timeoutMs: number;
  maxBytes: number;
  cacheTtlMs: number;
  /** How long a failed download is answered from memory (default 30 s). */
  failureTtlMs?: number;
  /** Downloads allowed per minute over all URLs (default 10); beyond it deliveries are refused. */
  maxDownloadsPerMinute?: number;
  /** Shortest time between two downloads of one URL for `refetch` (default 5 s). */
  refetchIntervalMs?: number;
  /** URLs whose certificates or failures are remembered (default 100; the oldest go first). */
  maxCachedUrls?: number;
  now: () => Date;
}

export interface CertificateFetcher {
  /** The certificates at `url`, leaf first; cached by URL, a failure is remembered briefly. */
  fetch(url: URL): Promise<X509Certificate[]>;
  /**
   * Downloads `url` again because its cached certificate did not verify a delivery (a renewal
   * behind the same URL). Null when nothing is cached for it, or it was downloaded less than
   * `refetchIntervalMs` ago: then the cached certificate is the current one as far as anyone can tell.
   */
  refetch(url: URL): Promise<X509Certificate[] | null>;
}

/** Checks the certificate URL against the pins; throws a RequestError naming the header. */
export function checkCertificateUrl(value: string, allowedHosts: string[], pathPattern: RegExp): URL {
  if (!URL.canParse(value)) throw new RequestError('REQUEST_INVALID', 400, `${HEADER}: not an absolute URL`);
  const url = new URL(value);
  const refuse = (why: string): never => {
    throw new RequestError('SIGNATURE_INVALID', 401, `${HEADER}: ${why}`);
  };
  if (url.protocol !== 'https:') refuse(`scheme must be https, got '${url.protocol.replace(/:$/, '')}'`);
  if (url.username !== '' || url.password !== '') refuse('must not carry credentials');
  if (url.search !== '' || value.includes('?')) refuse('must not carry a query string');
  if (url.hash !== '' || value.includes('#')) refuse('must not carry a fragment');
  const hostname = url.hostname.toLowerCase();
  const allowed = allowedHosts.some((entry) => {
    const pinned = entry.toLowerCase();
    // An entry without a port pins the default port, so `host:8443` cannot slip past `host`.
    return pinned.includes(':') && !pinned.startsWith('[')
      ? pinned === url.host.toLowerCase()
      : pinned === hostname && url.port === '';
  });
  if (!allowed) refuse(`host '${url.host}' is not an allowed certificate host`);
  if (!pathPattern.test(url.pathname)) refuse(`path '${url.pathname}' does not match ${pathPattern}`);
  return url;
}

/** Reads DER, a PEM bundle (leaf first, then its intermediates) or bare base64 DER. */
export function parseCertificates(bytes: Buffer): X509Certificate[] {
  const text = bytes.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks) return blocks.map((block) => new X509Certificate(block));
  const trimmed = text.trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && !/^\s*$/.test(trimmed)) {
    const der = Buffer.from(trimmed.replace(/\s+/g, ''), 'base64');
    if (der[0] === 0x30) return [new X509Certificate(der)];
  }
  return [new X509Certificate(bytes)];
}

function download(url: URL, options: CertificateFetcherOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, {
      method: 'GET',
      agent: false,
      ca: options.httpsCaPem ? [...rootCertificates, options.httpsCaPem] : undefined,
      timeout: options.timeoutMs,
      headers: { accept: 'application/pkix-cert, application/x-pem-file, */*' },
    });
    const deadline = setTimeout(
      () => request.destroy(new Error(`no complete answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const fail = (error: Error): void => {
      clearTimeout(deadline);
      reject(error);
    };
    request.on('timeout', () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', fail);
    request.on('response', (response) => {
      // Redirects are not followed: the pinned URL is the only place a certificate may come from.
      if (response.statusCode !== 200) {
        response.resume();
        fail(
          new Error(
            `answered HTTP ${response.statusCode}${response.headers.location ? ' (redirect not followed)' : ''}`,
          ),
        );
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          request.destroy(new Error(`certificate larger than ${options.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => {
        clearTimeout(deadline);
        resolve(Buffer.concat(chunks));
      });
      response.on('error', fail);
    });
    request.end();
  });
}

/**
 * Downloads are driven by unauthenticated requests, so they are bounded three ways: one download
 * at a time per URL (concurrent deliveries share it), a failure is remembered for `failureTtlMs`
 * (a burst naming a missing file costs one download), and a token bucket caps downloads over all
 * URLs (random `/cert/*.cer` names cannot make the relay download without end). A refused
 * download is not cached: nothing was learned about the URL.
 */
export function createCertificateFetcher(options: CertificateFetcherOptions): CertificateFetcher {
  const failureTtlMs = options.failureTtlMs ?? 30_000;
  const perMinute = options.maxDownloadsPerMinute ?? 10;
  const refetchIntervalMs = options.refetchIntervalMs ?? 5_000;
  const maxCachedUrls = options.maxCachedUrls ?? 100;
  const nowMs = () => options.now().getTime();
  const cache = new Map<string, { certificates: X509Certificate[]; loadedAt: number; expiresAt: number }>();
  const failures = new Map<string, { error: RequestError; expiresAt: number }>();
  const inFlight = new Map<string, Promise<X509Certificate[]>>();
  let tokens = perMinute;
  let refilledAt = nowMs();

  const remember = <V>(map: Map<string, V>, key: string, value: V): void => {
    map.delete(key);
    map.set(key, value);
    while (map.size > maxCachedUrls) map.delete(map.keys().next().value as string);
  };
  const takeDownloadToken = (): boolean => {
    const now = nowMs();
    tokens = Math.min(perMinute, tokens + ((now - refilledAt) * perMinute) / 60_000);
    refilledAt = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const load = async (url: URL, refresh: boolean): Promise<X509Certificate[]> => {
    // A re-fetch of a URL that served a certificate is bounded per URL instead: random paths
    // spending the budget must not keep a renewal from being picked up.
    if (!refresh && !takeDownloadToken())
      throw new RequestError(
        'SIGNATURE_INVALID',
        401,
        `${HEADER}: certificate downloads are rate-limited (${perMinute} a minute); not downloading ${url.href}`,
      );
    let failure: RequestError;
    try {
      let bytes: Buffer;
      try {
        bytes = await download(url, options);
      } catch (cause) {
        throw new RequestError(
          'SIGNATURE_INVALID',
          401,
          `${HEADER}: certificate download failed: ${(cause as Error).message}`,
          cause,
        );
      }
      let certificates: X509Certificate[];
      try {
        certificates = parseCertificates(bytes);
      } catch (cause) {
        throw new RequestError(
          'SIGNATURE_INVALID',
          401,
          `${HEADER}: the downloaded file is not a DER or PEM certificate`,
          cause,
        );
      }
      const loadedAt = nowMs();
      remember(cache, url.href, { certificates, loadedAt, expiresAt: loadedAt + options.cacheTtlMs });
      failures.delete(url.href);
      return certificates;
    } catch (error) {
      failure = error as RequestError;
    }
    remember(failures, url.href, { error: failure, expiresAt: nowMs() + failureTtlMs });
    throw failure;
  };
  const shared = (url: URL, refresh = false): Promise<X509Certificate[]> => {
    let pending = inFlight.get(url.href);
    if (!pending) {
      pending = load(url, refresh).finally(() => inFlight.delete(url.href));
      inFlight.set(url.href, pending);
    }
    return pending;
  };

  return {
    async fetch(url) {
      const now = nowMs();
      const cached = cache.get(url.href);
      if (cached && cached.expiresAt > now) return cached.certificates;
      const failed = failures.get(url.href);
      if (failed && failed.expiresAt > now) throw failed.error;
      return shared(url);
    },
    async refetch(url) {
      const pending = inFlight.get(url.href);
      if (pending) return pending;
      const cached = cache.get(url.href);
      if (!cached || nowMs() - cached.loadedAt < refetchIntervalMs) return null;
      return shared(url, true);
    },
  };
}
