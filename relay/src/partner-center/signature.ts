import { verify as verifySignature, X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigError, RequestError } from '../errors.ts';
import { checkCertificateUrl, createCertificateFetcher } from './certificateFetcher.ts';
import { EXTENDED_KEY_USAGES, readExtensions } from './certificateExtensions.ts';
import type { CertificateExtensions } from './certificateExtensions.ts';
import type { CertificateFetcher } from './certificateFetcher.ts';

/**
 * Verifies a Partner Center webhook delivery (contract §3.5, "Recommended TypeScript
 * algorithm"): RSA PKCS#1 v1.5 SHA-256 over the raw body bytes, with the certificate downloaded
 * from a pinned `x-ms-certificate-url`, within its validity dates, issued to
 * `O=Microsoft Corporation`, and chained through the bundle's intermediates to a configured root.
 *
 * Failures are RequestErrors naming the header at fault: 400 REQUEST_INVALID for a missing or
 * malformed header, 413 PAYLOAD_TOO_LARGE, 401 SIGNATURE_INVALID for everything that is well formed
 * but not trustworthy (wrong algorithm, URL outside the pins, certificate download or checks
 * failing, signature mismatch). Partner Center retries any non-2xx, up to 10 times (§3.4).
 */

export interface SignatureVerifierOptions {
  /** Hosts the certificate may be downloaded from: `host` (default port) or `host:port`. */
  allowedCertificateHosts?: string[];
  certificatePathPattern?: RegExp;
  /** Trust anchors (PEM). A root, or an intermediate when the certificate URL serves the leaf alone. */
  trustedRootsPem: string[];
  /** Extra CA for the HTTPS certificate download (the sandbox's TLS CA). */
  httpsCaPem?: string;
  maxBodyBytes?: number;
  cacheTtlMs?: number;
  fetchTimeoutMs?: number;
  /** Largest certificate file accepted. */
  maxCertificateBytes?: number;
  /** Certificate downloads per minute over all URLs (unauthenticated requests trigger them). */
  maxDownloadsPerMinute?: number;
  /** How long a failed certificate download is remembered. */
  failureTtlMs?: number;
  /** Shortest time between two re-fetches of one URL after a signature failed against its cached certificate. */
  refetchIntervalMs?: number;
  /**
   * extendedKeyUsage purposes (names from EXTENDED_KEY_USAGES or dotted OIDs) a signing
   * certificate that carries the extension must name one of. Which one Microsoft's certificate
   * carries is not documented, so the default accepts the usual ones.
   */
  acceptedExtendedKeyUsages?: string[];
  now?: () => Date;
}

export const DEFAULT_EXTENDED_KEY_USAGES = ['serverAuth', 'clientAuth', 'codeSigning', 'anyExtendedKeyUsage'];

export interface SignatureVerifier {
  verify(rawBody: Buffer, headers: IncomingHttpHeaders): Promise<void>;
}

export const DEFAULT_CERTIFICATE_HOSTS = ['3psostorageacct.blob.core.windows.net'];
export const DEFAULT_CERTIFICATE_PATH = /^\/cert\/[A-Za-z0-9._-]+\.cer$/;
const MICROSOFT_ORGANIZATION = 'Microsoft Corporation';
/** Leaf, intermediates, root: real chains are three deep; the bound stops loops in a hostile bundle. */
const MAX_CHAIN_LENGTH = 6;

const invalidHeader = (message: string): RequestError => new RequestError('REQUEST_INVALID', 400, message);
const untrusted = (message: string, cause?: unknown): RequestError =>
  new RequestError('SIGNATURE_INVALID', 401, message, cause);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) {
    if (value.length > 1) throw invalidHeader(`${name}: sent more than once`);
    return value[0];
  }
  return value;
}

/** Strict base64: canonical alphabet, correct padding, and it must round-trip. */
function decodeBase64(value: string, headerName: string): Buffer {
  if (value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw invalidHeader(`${headerName}: signature is not valid base64`);
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) throw invalidHeader(`${headerName}: signature is not valid base64`);
  return bytes;
}

function readSignature(headers: IncomingHttpHeaders): { bytes: Buffer; from: string } {
  const authorization = header(headers, 'authorization')?.trim();
  const msSignature = header(headers, 'x-ms-signature')?.trim();
  if (authorization) {
    const match = /^Signature\s+(\S+)$/i.exec(authorization);
    if (match) return { bytes: decodeBase64(match[1], 'authorization'), from: 'authorization' };
    // Some hosts (Power Automate) own Authorization; then the signature travels in x-ms-signature.
    if (!msSignature) throw invalidHeader("authorization: scheme must be 'Signature'");
  }
  if (msSignature) {
    const value = msSignature.replace(/^Signature\s+/i, '');
    return { bytes: decodeBase64(value, 'x-ms-signature'), from: 'x-ms-signature' };
  }
  throw invalidHeader('authorization: missing (expected "Signature <base64>", or the x-ms-signature header)');
}

const organizationsOf = (distinguishedName: string): string[] =>
  distinguishedName
    .split('\n')
    .filter((part) => part.startsWith('O='))
    .map((part) => part.slice(2));

function checkDates(certificate: X509Certificate, now: Date, role: string): void {
  if (now < certificate.validFromDate)
    throw untrusted(
      `x-ms-certificate-url: the ${role} certificate is not valid before ${certificate.validFrom}`,
    );
  if (now > certificate.validToDate)
    throw untrusted(`x-ms-certificate-url: the ${role} certificate expired on ${certificate.validTo}`);
}

const issues = (issuer: X509Certificate, subject: X509Certificate): boolean =>
  issuer.ca && subject.checkIssued(issuer) && subject.verify(issuer.publicKey);

/**
 * Walks leaf → intermediates → anchor, checking each link's signature, CA flag and dates, and
 * returns the path found, leaf first and anchor last.
 */
function buildChain(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  anchors: X509Certificate[],
  now: Date,
): X509Certificate[] {
  const anchorPrints = new Set(anchors.map((anchor) => anchor.fingerprint256));
  let current = leaf;
  const path = [leaf];
  const used = new Set<string>([leaf.fingerprint256]);
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    if (depth > 0 && anchorPrints.has(current.fingerprint256)) return path;
    const anchor = anchors.find((candidate) => issues(candidate, current));
    if (anchor) {
      checkDates(anchor, now, 'root');
      path.push(anchor);
      return path;
    }
    const next = intermediates.find(
      (candidate) => !used.has(candidate.fingerprint256) && issues(candidate, current),
    );
    if (!next) break;
    checkDates(next, now, 'intermediate');
    used.add(next.fingerprint256);
    path.push(next);
    current = next;
  }
  throw untrusted('x-ms-certificate-url: the certificate does not chain to a trusted root');
}

function extensionsOf(certificate: X509Certificate, role: string): CertificateExtensions {
  try {
    return readExtensions(certificate);
  } catch (cause) {
    throw untrusted(`x-ms-certificate-url: the ${role} certificate's extensions cannot be read`, cause);
  }
}

/**
 * What the chain's extensions allow (RFC 5280 §4.2.1.3, .9, .12; an absent extension restricts
 * nothing): the leaf's key may make digital signatures and its extendedKeyUsage names an accepted
 * purpose; every issuer is a CA (basicConstraints cA) whose key may sign certificates (keyCertSign)
 * and whose path length allows the CAs below it.
 */
function checkExtensions(path: X509Certificate[], acceptedPurposes: Set<string>): void {
  const [leaf, ...issuers] = path;
  const leafExtensions = extensionsOf(leaf, 'signing');
  if (leafExtensions.keyUsage && !leafExtensions.keyUsage.digitalSignature)
    throw untrusted(
      "x-ms-certificate-url: the signing certificate's keyUsage does not allow digitalSignature",
    );
  const purposes = leafExtensions.extendedKeyUsage;
  if (purposes && !purposes.some((purpose) => acceptedPurposes.has(purpose)))
    throw untrusted(
      `x-ms-certificate-url: the signing certificate's extendedKeyUsage (${purposes.join(', ')}) names no accepted purpose`,
    );
  issuers.forEach((issuer, index) => {
    const role = index === issuers.length - 1 ? 'root' : 'intermediate';
    const extensions = extensionsOf(issuer, role);
    if (extensions.basicConstraints && !extensions.basicConstraints.ca)
      throw untrusted(`x-ms-certificate-url: the ${role} certificate is not a CA (basicConstraints)`);
    if (extensions.keyUsage && !extensions.keyUsage.keyCertSign)
      throw untrusted(`x-ms-certificate-url: the ${role} certificate's keyUsage does not allow keyCertSign`);
    // CAs between this issuer and the leaf; a self-issued anchor at the end does not count itself.
    const below = index;
    const limit = extensions.basicConstraints?.pathLength;
    if (limit !== undefined && below > limit)
      throw untrusted(
        `x-ms-certificate-url: the ${role} certificate allows ${limit} CA certificate(s) below it, the chain has ${below}`,
      );
  });
}

export function createSignatureVerifier(options: SignatureVerifierOptions): SignatureVerifier {
  if (options.trustedRootsPem.length === 0)
    throw new ConfigError('CONFIG_INVALID', [
      'trustedRootsPem: at least one trusted root certificate is required',
    ]);
  const anchors = options.trustedRootsPem.map((pem, index) => {
    try {
      return new X509Certificate(pem);
    } catch (cause) {
      throw new ConfigError('CONFIG_INVALID', [`trustedRootsPem[${index}]: not a PEM certificate`], {
        cause,
      });
    }
  });
  const allowedHosts = options.allowedCertificateHosts ?? DEFAULT_CERTIFICATE_HOSTS;
  const pathPattern = options.certificatePathPattern ?? DEFAULT_CERTIFICATE_PATH;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const now = options.now ?? (() => new Date());
  const purposes = new Set<string>();
  for (const [index, name] of (options.acceptedExtendedKeyUsages ?? DEFAULT_EXTENDED_KEY_USAGES).entries()) {
    const oid = EXTENDED_KEY_USAGES[name] ?? (/^\d+(\.\d+)+$/.test(name) ? name : undefined);
    if (!oid)
      throw new ConfigError('CONFIG_INVALID', [
        `acceptedExtendedKeyUsages[${index}]: '${name}' is neither a known purpose (${Object.keys(EXTENDED_KEY_USAGES).join(', ')}) nor an OID`,
      ]);
    purposes.add(oid);
  }
  const fetcher: CertificateFetcher = createCertificateFetcher({
    allowedHosts,
    pathPattern,
    httpsCaPem: options.httpsCaPem,
    timeoutMs: options.fetchTimeoutMs ?? 15_000,
    maxBytes: options.maxCertificateBytes ?? 64 * 1024,
    // Hours: a renewal behind the same URL is caught by the re-fetch after a failed signature.
    cacheTtlMs: options.cacheTtlMs ?? 6 * 60 * 60 * 1000,
    failureTtlMs: options.failureTtlMs,
    maxDownloadsPerMinute: options.maxDownloadsPerMinute,
    refetchIntervalMs: options.refetchIntervalMs,
    now,
  });

  /** Every check of the certificates (throwing), then the signature: the mismatch, or null when it holds. */
  const check = (
    certificates: X509Certificate[],
    rawBody: Buffer,
    signature: { bytes: Buffer; from: string },
  ): RequestError | null => {
    const [leaf, ...intermediates] = certificates;
    const at = now();
    checkDates(leaf, at, 'signing');
    if (!organizationsOf(leaf.subject).includes(MICROSOFT_ORGANIZATION)) {
      throw untrusted(
        `x-ms-certificate-url: the signing certificate subject is not O=${MICROSOFT_ORGANIZATION}`,
      );
    }
    checkExtensions(buildChain(leaf, intermediates, anchors, at), purposes);

    let valid: boolean;
    try {
      valid = verifySignature('sha256', rawBody, leaf.publicKey, signature.bytes);
    } catch (cause) {
      throw untrusted(
        `${signature.from}: the signature could not be checked against the certificate key`,
        cause,
      );
    }
    return valid
      ? null
      : untrusted(`${signature.from}: the signature does not match the body and the signing certificate`);
  };

  return {
    async verify(rawBody, headers) {
      if (rawBody.length > maxBodyBytes)
        throw new RequestError('PAYLOAD_TOO_LARGE', 413, `body: larger than ${maxBodyBytes} bytes`);
      if (rawBody.length === 0) throw invalidHeader('body: empty');

      const signature = readSignature(headers);

      const algorithm = header(headers, 'x-ms-signature-algorithm')?.trim();
      if (!algorithm) throw invalidHeader('x-ms-signature-algorithm: missing');
      // Microsoft's sample would accept any rsa-<hash>; only SHA-256 is ever sent, so only it is accepted.
      if (algorithm.toLowerCase() !== 'rsa-sha256')
        throw untrusted(`x-ms-signature-algorithm: '${algorithm}' is not supported (expected rsa-sha256)`);

      const certificateUrl = header(headers, 'x-ms-certificate-url')?.trim();
      if (!certificateUrl) throw invalidHeader('x-ms-certificate-url: missing');
      const url = checkCertificateUrl(certificateUrl, allowedHosts, pathPattern);

      const certificates = await fetcher.fetch(url);
      let refusal: unknown;
      try {
        refusal = check(certificates, rawBody, signature);
      } catch (error) {
        refusal = error;
      }
      if (!refusal) return;
      // Partner Center renews its certificate behind the same URL: a delivery the cached one does
      // not verify (a new key, or the cached one expired) gets one rate-limited look at what the
      // URL serves now.
      const current = await fetcher.refetch(url);
      if (!current || current[0].fingerprint256 === certificates[0].fingerprint256) throw refusal;
      const retried = check(current, rawBody, signature);
      if (retried) throw retried;
    },
  };
}
