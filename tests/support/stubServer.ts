import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest<B = unknown> {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The body as text ('' when none). */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: B;
}

/** What the stub answers: a status (with headers and a body), or `hang` to never answer. */
export type StubReply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface StubServer<B = unknown> {
  /** `http://127.0.0.1:<port>`, on a port the OS chose. */
  url: string;
  /** Every request so far, in arrival order. */
  received: ReceivedRequest<B>[];
  close(): Promise<void>;
}

/**
 * A local HTTP receiver for tests: it records each request and answers what `reply` says (200 when
 * no reply is given). The one stand-in for webhook and notification receivers, so each test says
 * only what its receiver answers.
 */
export async function startStubServer<B = unknown>(
  reply: (request: ReceivedRequest<B>) => StubReply | Promise<StubReply> = () => ({ status: 200 }),
): Promise<StubServer<B>> {
  const received: ReceivedRequest<B>[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const request = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      text,
      body: body as B,
    };
    received.push(request);
    const answer = await reply(request);
    if (answer === 'hang') return;
    res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
