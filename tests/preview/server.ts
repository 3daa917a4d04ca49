/**
 * A static server for the built preview: .data/preview at /, the SLDS package's assets at /assets.
 * Listens on 127.0.0.1 only.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ROOT } from './states.ts';

const SLDS_ASSETS = path.join(ROOT, 'node_modules', '@salesforce-ux', 'design-system', 'assets');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

export interface PreviewServer {
  url: string;
  close(): Promise<void>;
}

/** The file a request path names, or null when it would leave the served directories. */
function fileFor(dir: string, pathname: string): string | null {
  const [base, rest] = pathname.startsWith('/assets/')
    ? [SLDS_ASSETS, pathname.slice('/assets/'.length)]
    : [dir, pathname === '/' ? 'index.html' : pathname.slice(1)];
  const file = path.resolve(base, decodeURIComponent(rest));
  return file.startsWith(base + path.sep) ? file : null;
}

export async function startPreviewServer(dir: string, port = 0): Promise<PreviewServer> {
  const server = http.createServer(async (request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://preview.invalid');
    const file = fileFor(dir, pathname);
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) {
      response
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end(`not found: ${pathname}\n`);
      return;
    }
    response.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A browser keeps its connections open; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}
