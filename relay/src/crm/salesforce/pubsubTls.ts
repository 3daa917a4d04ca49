import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';

/**
 * TLS credentials for the Pub/Sub API. Without explicit roots grpc-js trusts its own bundle, or
 * the file named by GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, and ignores NODE_EXTRA_CA_CERTS — so a host
 * whose private CA is trusted by fetch, jsforce and MSAL would still fail here. Passing Node's
 * default store (its bundled roots plus NODE_EXTRA_CA_CERTS) gives the relay one trust store.
 */
export function pubsubCredentials(options: { tls: boolean; caPem?: string }): grpc.ChannelCredentials {
  if (!options.tls) return grpc.credentials.createInsecure();
  const roots = options.caPem ?? tls.getCACertificates('default').join('\n');
  return grpc.credentials.createSsl(Buffer.from(roots));
}
