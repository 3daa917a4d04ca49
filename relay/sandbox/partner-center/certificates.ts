import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

/**
 * The sandbox's PKI. Two independent hierarchies, as in the real world:
 *  - signing: a root CA and an intermediate (both O=Microsoft Corporation) issuing the leaf
 *    `CN=pcnotifications-dispatch.microsoft.com` that signs webhook deliveries;
 *  - TLS: one sandbox CA per process (`sandboxTls`) issuing the 127.0.0.1/localhost server
 *    certificate every sandbox listener serves: the Partner Center certificate host (the verifier
 *    downloads the signing certificate over HTTPS only), Entra, the Pub/Sub gRPC server, and the
 *    Partner Center and Salesforce REST APIs when they are asked to speak HTTPS.
 * Extra signing identities exist so tests can drive the verifier's negative paths through the
 * real delivery code: an expired leaf, a leaf of another organisation, a leaf chaining to a root
 * nobody trusts, and a valid certificate served while deliveries are signed with another key.
 * `renewSigningCertificate` replaces the Microsoft leaf behind the same URL, as a renewal does.
 */

const generateKeyPairAsync = promisify(generateKeyPair);

export const SIGNING_IDENTITIES = [
  'microsoft',
  'expired',
  'wrong-organization',
  'untrusted-root',
  'wrong-key',
  // Chains whose extensions forbid what they are used for (keyUsage, basicConstraints, EKU).
  'no-digital-signature',
  'ca-without-key-cert-sign',
  'path-length-exceeded',
  'email-only-eku',
] as const;
export type SigningIdentityName = (typeof SIGNING_IDENTITIES)[number];

export interface SigningIdentity {
  name: SigningIdentityName;
  /** File name under /cert/ on the HTTPS listener. */
  fileName: string;
  /** What the listener serves at that file name: PEM of the leaf followed by its intermediates. */
  chainPem: string;
  /** DER of the leaf alone. */
  leafDer: Buffer;
  /** The key deliveries are signed with (PKCS#8 PEM); for `wrong-key` it does not match the leaf. */
  signingKeyPem: string;
}

/** The sandbox CA and the server certificate it issued for 127.0.0.1 and localhost. */
export interface SandboxTls {
  /** What a client trusts (NODE_EXTRA_CA_CERTS, grpc's root certificates, `ca` of a request). */
  caPem: string;
  keyPem: string;
  /** The server certificate alone; the CA is the trust anchor, so no chain is sent. */
  certPem: string;
}

export interface SandboxPki {
  trustedRootPem: string;
  intermediatePem: string;
  /** A root of O=Microsoft Corporation that no verifier is told to trust. */
  untrustedRootPem: string;
  identities: Record<SigningIdentityName, SigningIdentity>;
  tls: SandboxTls;
  /** Issues a new Microsoft leaf (new key) under the same file name; deliveries are signed with it from now on. */
  renewSigningCertificate(): Promise<void>;
}

interface Issuer {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

interface KeyPair {
  publicKey: forge.pki.rsa.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
  privateKeyPem: string;
}

const MICROSOFT = 'Microsoft Corporation';
const LEAF_CN = 'pcnotifications-dispatch.microsoft.com';
const DAY_MS = 86_400_000;

// node:crypto generates RSA keys natively and in the thread pool; node-forge's pure-JS keygen
// would take seconds per key. node-forge only assembles and signs the certificates.
async function newKeyPair(bits: number): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    privateKeyPem: privateKey,
  };
}

interface CertificateSpec {
  subject: { CN: string; O: string };
  keys: KeyPair;
  issuer?: Issuer;
  ca: boolean;
  notBefore: Date;
  notAfter: Date;
  altNames?: { dns: string[]; ips: string[] };
  /** Replaces the usual keyUsage (forge flags). */
  keyUsage?: Record<string, boolean>;
  pathLength?: number;
  /** extKeyUsage flags for a signing leaf. */
  extKeyUsage?: Record<string, boolean>;
}

function issue(spec: CertificateSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.keys.publicKey;
  // A leading 0x01 keeps the DER INTEGER positive whatever the random bytes are.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const subject = [
    { name: 'countryName', value: 'US' },
    { name: 'organizationName', value: spec.subject.O },
    { name: 'commonName', value: spec.subject.CN },
  ];
  cert.setSubject(subject);
  cert.setIssuer(spec.issuer ? spec.issuer.cert.subject.attributes : subject);
  const extensions: object[] = [
    {
      name: 'basicConstraints',
      cA: spec.ca,
      critical: true,
      ...(spec.pathLength === undefined ? {} : { pathLenConstraint: spec.pathLength }),
    },
    spec.keyUsage
      ? { name: 'keyUsage', ...spec.keyUsage, critical: true }
      : spec.ca
        ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
        : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (spec.extKeyUsage) extensions.push({ name: 'extKeyUsage', ...spec.extKeyUsage });
  if (spec.issuer) {
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    });
  }
  if (spec.altNames) {
    extensions.push({ name: 'extKeyUsage', serverAuth: true });
    extensions.push({
      name: 'subjectAltName',
      altNames: [
        ...spec.altNames.dns.map((value) => ({ type: 2, value })),
        ...spec.altNames.ips.map((ip) => ({ type: 7, ip })),
      ],
    });
  }
  cert.setExtensions(extensions);
  cert.sign(spec.issuer?.key ?? spec.keys.privateKey, forge.md.sha256.create());
  return cert;
}

const toPem = (cert: forge.pki.Certificate): string => forge.pki.certificateToPem(cert);
const toDer = (cert: forge.pki.Certificate): Buffer =>
  Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');

// One CA per process, whoever asks first: a client that trusted it (Node's fetch keeps the trust
// store it first saw) then reaches every sandbox this process starts, in any order.
let sharedTls: Promise<SandboxTls> | undefined;

/** The process's sandbox CA and server certificate, generated on first use. */
export function sandboxTls(): Promise<SandboxTls> {
  sharedTls ??= createTlsIdentity().catch((error: unknown) => {
    sharedTls = undefined;
    throw error;
  });
  return sharedTls;
}

async function createTlsIdentity(): Promise<SandboxTls> {
  const now = Date.now();
  const since = new Date(now - DAY_MS);
  const until = new Date(now + 365 * DAY_MS);
  const [caKeys, serverKeys] = await Promise.all([newKeyPair(2048), newKeyPair(2048)]);
  const ca = issue({
    subject: { CN: 'cosell-sync Sandbox CA', O: 'cosell-sync sandbox' },
    keys: caKeys,
    ca: true,
    notBefore: since,
    notAfter: until,
  });
  const server = issue({
    subject: { CN: '127.0.0.1', O: 'cosell-sync sandbox' },
    keys: serverKeys,
    issuer: { cert: ca, key: caKeys.privateKey },
    ca: false,
    notBefore: since,
    notAfter: until,
    altNames: { dns: ['localhost'], ips: ['127.0.0.1'] },
  });
  return { caPem: toPem(ca), keyPem: serverKeys.privateKeyPem, certPem: toPem(server) };
}

export async function createSandboxPki(options: { keyBits?: number; now?: Date } = {}): Promise<SandboxPki> {
  const bits = options.keyBits ?? 2048;
  const now = options.now ?? new Date();
  const since = new Date(now.getTime() - DAY_MS);
  const until = new Date(now.getTime() + 365 * DAY_MS);
  const [
    rootKeys,
    intermediateKeys,
    leafKeys,
    expiredKeys,
    otherOrgKeys,
    strayRootKeys,
    strayLeafKeys,
    wrongKeys,
  ] = await Promise.all(Array.from({ length: 8 }, () => newKeyPair(bits)));
  const tls = await sandboxTls();

  const root = issue({
    subject: { CN: 'Sandbox Microsoft Root Certificate Authority', O: MICROSOFT },
    keys: rootKeys,
    ca: true,
    notBefore: since,
    notAfter: until,
  });
  const rootIssuer = { cert: root, key: rootKeys.privateKey };
  const intermediate = issue({
    subject: { CN: 'Sandbox Microsoft Notifications CA', O: MICROSOFT },
    keys: intermediateKeys,
    issuer: rootIssuer,
    ca: true,
    notBefore: since,
    notAfter: until,
  });
  const intermediateIssuer = { cert: intermediate, key: intermediateKeys.privateKey };
  const leafOptions = { issuer: intermediateIssuer, ca: false, notBefore: since, notAfter: until };
  const leaf = issue({ ...leafOptions, subject: { CN: LEAF_CN, O: MICROSOFT }, keys: leafKeys });
  const expired = issue({
    ...leafOptions,
    subject: { CN: LEAF_CN, O: MICROSOFT },
    keys: expiredKeys,
    notBefore: new Date(now.getTime() - 30 * DAY_MS),
    notAfter: new Date(now.getTime() - 2 * DAY_MS),
  });
  const otherOrg = issue({ ...leafOptions, subject: { CN: LEAF_CN, O: 'Contoso Ltd' }, keys: otherOrgKeys });
  const strayRoot = issue({
    subject: { CN: 'Sandbox Microsoft Root Certificate Authority', O: MICROSOFT },
    keys: strayRootKeys,
    ca: true,
    notBefore: since,
    notAfter: until,
  });
  const strayLeaf = issue({
    ...leafOptions,
    issuer: { cert: strayRoot, key: strayRootKeys.privateKey },
    subject: { CN: LEAF_CN, O: MICROSOFT },
    keys: strayLeafKeys,
  });

  // Bad-extension chains reuse keys made above: only their extensions matter to the tests.
  const microsoftLeaf = { CN: LEAF_CN, O: MICROSOFT };
  const noDigitalSignature = issue({
    ...leafOptions,
    subject: microsoftLeaf,
    keys: leafKeys,
    keyUsage: { keyEncipherment: true },
  });
  const emailOnly = issue({
    ...leafOptions,
    subject: microsoftLeaf,
    keys: leafKeys,
    extKeyUsage: { emailProtection: true },
  });
  const caOptions = { issuer: rootIssuer, ca: true, notBefore: since, notAfter: until };
  const crlOnlyCa = issue({
    ...caOptions,
    subject: { CN: 'Sandbox Microsoft CRL Signing CA', O: MICROSOFT },
    keys: wrongKeys,
    keyUsage: { cRLSign: true },
  });
  const underCrlOnlyCa = issue({
    ...leafOptions,
    issuer: { cert: crlOnlyCa, key: wrongKeys.privateKey },
    subject: microsoftLeaf,
    keys: leafKeys,
  });
  const noSubordinatesCa = issue({
    ...caOptions,
    subject: { CN: 'Sandbox Microsoft Policy CA', O: MICROSOFT },
    keys: otherOrgKeys,
    pathLength: 0,
  });
  const subordinateCa = issue({
    ...caOptions,
    issuer: { cert: noSubordinatesCa, key: otherOrgKeys.privateKey },
    subject: { CN: 'Sandbox Microsoft Subordinate CA', O: MICROSOFT },
    keys: strayLeafKeys,
  });
  const tooDeep = issue({
    ...leafOptions,
    issuer: { cert: subordinateCa, key: strayLeafKeys.privateKey },
    subject: microsoftLeaf,
    keys: leafKeys,
  });

  const identity = (
    name: SigningIdentityName,
    cert: forge.pki.Certificate,
    chain: forge.pki.Certificate[],
    keys: KeyPair,
  ): SigningIdentity => ({
    name,
    fileName: name === 'microsoft' ? `${LEAF_CN}.cer` : `${name}.${LEAF_CN}.cer`,
    chainPem: [cert, ...chain].map(toPem).join(''),
    leafDer: toDer(cert),
    signingKeyPem: keys.privateKeyPem,
  });

  const identities: Record<SigningIdentityName, SigningIdentity> = {
    microsoft: identity('microsoft', leaf, [intermediate], leafKeys),
    expired: identity('expired', expired, [intermediate], expiredKeys),
    'wrong-organization': identity('wrong-organization', otherOrg, [intermediate], otherOrgKeys),
    'untrusted-root': identity('untrusted-root', strayLeaf, [strayRoot], strayLeafKeys),
    'wrong-key': { ...identity('wrong-key', leaf, [intermediate], wrongKeys), fileName: `${LEAF_CN}.cer` },
    'no-digital-signature': identity('no-digital-signature', noDigitalSignature, [intermediate], leafKeys),
    'ca-without-key-cert-sign': identity('ca-without-key-cert-sign', underCrlOnlyCa, [crlOnlyCa], leafKeys),
    'path-length-exceeded': identity(
      'path-length-exceeded',
      tooDeep,
      [subordinateCa, noSubordinatesCa],
      leafKeys,
    ),
    'email-only-eku': identity('email-only-eku', emailOnly, [intermediate], leafKeys),
  };

  return {
    trustedRootPem: toPem(root),
    intermediatePem: toPem(intermediate),
    untrustedRootPem: toPem(strayRoot),
    identities,
    tls,
    async renewSigningCertificate() {
      const keys = await newKeyPair(bits);
      const renewed = issue({ ...leafOptions, subject: microsoftLeaf, keys });
      identities.microsoft = identity('microsoft', renewed, [intermediate], keys);
    },
  };
}
