import type { X509Certificate } from 'node:crypto';

/**
 * The three X.509 extensions the webhook chain check needs and node:crypto does not expose
 * (keyUsage bits, the basicConstraints path length, and extendedKeyUsage as parsed values).
 *
 * Read with a few lines of DER walking rather than a library: the only ASN.1 library in the
 * dependencies is node-forge, which production must not load (it is there for the sandbox's PKI),
 * and these three extensions have small fixed shapes (RFC 5280 §4.2.1.3, §4.2.1.9, §4.2.1.12).
 */

export interface CertificateExtensions {
  /** keyUsage bits by name; undefined when the extension is absent (any usage allowed). */
  keyUsage?: { digitalSignature: boolean; keyCertSign: boolean };
  /** basicConstraints; undefined when absent. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** extendedKeyUsage OIDs in dotted form; undefined when absent (any purpose allowed). */
  extendedKeyUsage?: string[];
}

interface Tlv {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

class DerError extends Error {}

function readTlv(der: Buffer, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated');
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i];
    start += bytes;
  }
  const end = start + length;
  if (end > limit) throw new DerError('content runs past its container');
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end;) {
    const child = readTlv(der, offset, parent.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

function oidOf(der: Buffer, tlv: Tlv): string {
  const bytes = der.subarray(tlv.start, tlv.end);
  if (bytes.length === 0) throw new DerError('empty OID');
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() as number;
  const arc = first < 80 ? Math.floor(first / 40) : 2;
  return [arc, first - arc * 40, ...parts].join('.');
}

const SEQUENCE = 0x30;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const EXTENSIONS_TAG = 0xa3;

const KEY_USAGE = '2.5.29.15';
const BASIC_CONSTRAINTS = '2.5.29.19';
const EXTENDED_KEY_USAGE = '2.5.29.37';

/** Reads the extensions of a certificate; throws when its DER is not what RFC 5280 describes. */
export function readExtensions(certificate: X509Certificate): CertificateExtensions {
  const der = certificate.raw;
  try {
    const cert = readTlv(der, 0);
    const tbs = children(der, cert)[0];
    if (cert.tag !== SEQUENCE || tbs?.tag !== SEQUENCE) throw new DerError('not a certificate');
    const wrapper = children(der, tbs).find((field) => field.tag === EXTENSIONS_TAG);
    const result: CertificateExtensions = {};
    if (!wrapper) return result;
    const list = readTlv(der, wrapper.start, wrapper.end);
    for (const extension of children(der, list)) {
      const fields = children(der, extension);
      const id = oidOf(der, fields[0]);
      const value = fields.at(-1) as Tlv;
      if (fields[0].tag !== OID || value.tag !== OCTET_STRING) throw new DerError('bad extension');
      const inner = readTlv(der, value.start, value.end);
      if (id === KEY_USAGE) {
        if (inner.tag !== BIT_STRING) throw new DerError('keyUsage is not a BIT STRING');
        // First content byte counts the unused bits; bit 0 is the most significant bit after it.
        const first = inner.end > inner.start + 1 ? der[inner.start + 1] : 0;
        result.keyUsage = { digitalSignature: (first & 0x80) !== 0, keyCertSign: (first & 0x04) !== 0 };
      } else if (id === BASIC_CONSTRAINTS) {
        if (inner.tag !== SEQUENCE) throw new DerError('basicConstraints is not a SEQUENCE');
        const constraints: { ca: boolean; pathLength?: number } = { ca: false };
        for (const field of children(der, inner)) {
          if (field.tag === BOOLEAN) constraints.ca = der[field.start] !== 0;
          else if (field.tag === INTEGER)
            constraints.pathLength = der.readUIntBE(field.start, Math.min(6, field.end - field.start));
        }
        result.basicConstraints = constraints;
      } else if (id === EXTENDED_KEY_USAGE) {
        if (inner.tag !== SEQUENCE) throw new DerError('extendedKeyUsage is not a SEQUENCE');
        result.extendedKeyUsage = children(der, inner).map((purpose) => oidOf(der, purpose));
      }
    }
    return result;
  } catch (error) {
    if (error instanceof DerError) throw new Error(`certificate extensions unreadable: ${error.message}`);
    throw error;
  }
}

/** Names for the extendedKeyUsage purposes a setting may list (RFC 5280 §4.2.1.12). */
export const EXTENDED_KEY_USAGES: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  anyExtendedKeyUsage: '2.5.29.37.0',
};
