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
  now: () => Date;
}

export interface CertificateFetcher {
  /** The certificates at `url`, leaf first; cached by URL, failures are not cached. */
  fetch(url: URL): Promise<X509Certificate[]>;
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

export function createCertificateFetcher(options: CertificateFetcherOptions): CertificateFetcher {
  const cache = new Map<string, { certificates: X509Certificate[]; expiresAt: number }>();
  // Concurrent deliveries signed by a new certificate share one download.
  const inFlight = new Map<string, Promise<X509Certificate[]>>();

  const load = async (url: URL): Promise<X509Certificate[]> => {
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
    cache.set(url.href, { certificates, expiresAt: options.now().getTime() + options.cacheTtlMs });
    return certificates;
  };

  return {
    async fetch(url) {
      const cached = cache.get(url.href);
      if (cached && cached.expiresAt > options.now().getTime()) return cached.certificates;
      let pending = inFlight.get(url.href);
      if (!pending) {
        pending = load(url).finally(() => inFlight.delete(url.href));
        inFlight.set(url.href, pending);
      }
      return pending;
    },
  };
}
