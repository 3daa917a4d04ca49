import type { RelayConfig } from '../config.ts';
import type { RelayStatus } from '../operations.ts';
import { CliError } from './cliErrors.ts';

/**
 * The CLI's side of the admin API (relay/src/http/adminApi.ts): a running relay at RELAY_URL
 * (default http://localhost:PORT), authorised with ADMIN_TOKEN. Errors say which setting to fix.
 */
export interface AdminClient {
  baseUrl: string;
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'DELETE', path: string): Promise<{ status: number; body: T }>;
  /** POST answering NDJSON: yields each parsed line as it arrives. */
  stream(path: string): AsyncGenerator<Record<string, unknown>>;
  status(): Promise<RelayStatus>;
}

export function createAdminClient(
  config: Pick<RelayConfig, 'RELAY_URL' | 'PORT' | 'ADMIN_TOKEN'>,
): AdminClient {
  const baseUrl = (config.RELAY_URL ?? `http://localhost:${config.PORT}`).replace(/\/$/, '');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.ADMIN_TOKEN) headers.authorization = `Bearer ${config.ADMIN_TOKEN}`;

  async function request(method: string, path: string, allow: number[] = []): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, { method, headers });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `Cannot reach the relay at ${baseUrl} (${cause?.code ?? cause?.message ?? (error as Error).message}). Is it running? RELAY_URL: set it to the relay's address.`,
      );
    }
    if (response.ok || allow.includes(response.status)) return response;
    let message = response.statusText;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not JSON (a proxy's error page): the status line says enough.
    }
    if (response.status === 401) {
      throw new CliError(
        config.ADMIN_TOKEN
          ? `The relay at ${baseUrl} refused ADMIN_TOKEN (HTTP 401). ADMIN_TOKEN: set it to the relay's admin token.`
          : `The relay at ${baseUrl} requires an admin token (HTTP 401). ADMIN_TOKEN: set it to the relay's admin token.`,
      );
    }
    throw new CliError(`${method} ${path} failed with HTTP ${response.status}: ${message}`);
  }

  return {
    baseUrl,
    async get<T>(path: string) {
      return (await (await request('GET', path)).json()) as T;
    },
    async send<T>(method: 'POST' | 'DELETE', path: string) {
      const response = await request(method, path, [404]);
      return { status: response.status, body: (await response.json()) as T };
    },
    async *stream(path) {
      const response = await request('POST', path);
      if (!response.body) return;
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const text = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (text) yield JSON.parse(text) as Record<string, unknown>;
        }
      }
      if (buffered.trim()) yield JSON.parse(buffered) as Record<string, unknown>;
    },
    status() {
      return this.get<RelayStatus>('/api/status');
    },
  };
}
