import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createInterface } from 'node:readline/promises';
import { describeError } from '../errors.ts';
import { entraAuthFromSettings } from '../partner-center/entraAuth.ts';
import { openCommandPool } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { createTokenCacheStore } from '../store/tokenCache.ts';
import { parseArgs } from './args.ts';
import { CliError } from './cliErrors.ts';
import type { Output } from './output.ts';
import { cliLogger, commandSettings } from './productionSettings.ts';

export const loginUsage =
  'login [--paste] [--timeout <seconds>] [--json]   one-time interactive Partner Center sign-in (MFA); stores the token';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

interface Redirect {
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
}

function readRedirect(url: URL): Redirect {
  const p = url.searchParams;
  return {
    code: p.get('code') ?? undefined,
    state: p.get('state') ?? undefined,
    error: p.get('error') ?? undefined,
    errorDescription: p.get('error_description') ?? undefined,
  };
}

function page(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><body style="font-family:system-ui;margin:3rem"><h1>${esc(title)}</h1><p>${esc(text)}</p></body>`;
}

/**
 * Waits on the redirect URI's own port (loopback redirect URIs, RFC 8252) for the browser to come
 * back from Entra, and answers the browser only after `finish` ran, so it can say how it went.
 * Listens on loopback addresses only: the code must not be reachable from the network.
 */
async function waitOnLoopback(
  redirectUri: URL,
  timeoutMs: number,
  finish: (redirect: Redirect) => Promise<string>,
  onListening: () => void,
): Promise<{ result: string; close(): Promise<void> }> {
  const port = Number(redirectUri.port || 80);
  const hosts =
    redirectUri.hostname === 'localhost'
      ? ['127.0.0.1', '::1']
      : [redirectUri.hostname.replace(/^\[|\]$/g, '')];
  let settle!: { resolve: (v: string) => void; reject: (e: unknown) => void };
  const outcome = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  let handled = false;
  const servers = hosts.map((host) => {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', redirectUri);
      const redirect = readRedirect(url);
      if (url.pathname !== redirectUri.pathname || (!redirect.code && !redirect.error) || handled) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not the sign-in redirect.');
        return;
      }
      handled = true;
      finish(redirect).then(
        (account) => {
          // Settle once the page is out, so closing the server cannot cut it short.
          res.on('finish', () => settle.resolve(account));
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
            .end(
              page(
                'Signed in',
                `The relay now acts as ${account} in Partner Center. You can close this tab.`,
              ),
            );
        },
        (error: unknown) => {
          res.on('finish', () => settle.reject(error));
          res
            .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
            .end(page('Sign-in failed', `${(error as Error).message} See the terminal.`));
        },
      );
    });
    return { host, server };
  });
  const listening = await Promise.allSettled(
    servers.map(
      ({ host, server }) =>
        new Promise<void>((resolve, reject) =>
          server.once('error', reject).listen(port, host, () => resolve()),
        ),
    ),
  );
  const up = servers.filter((_, i) => listening[i].status === 'fulfilled');
  const close = async () => {
    await Promise.all(
      up.map(
        ({ server }) => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
      ),
    );
  };
  if (up.length === 0) {
    const reason = (listening[0] as PromiseRejectedResult).reason as NodeJS.ErrnoException;
    throw new CliError(
      `ENTRA_REDIRECT_URI: cannot listen on ${redirectUri.host} for the sign-in redirect (${reason.code ?? reason.message}); use a free port in the redirect URI (registered in the app) or run with --paste.`,
    );
  }
  onListening();
  const timer = setTimeout(
    () =>
      settle.reject(
        new CliError(`No sign-in came back within ${Math.round(timeoutMs / 1000)} s; run login again.`),
      ),
    timeoutMs,
  );
  try {
    return { result: await outcome, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function readPastedRedirect(out: Output): Promise<Redirect> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: Boolean(process.stdin.isTTY),
  });
  try {
    out.line('Paste the full address your browser landed on after signing in, then press Enter:');
    // A closed stdin (a pipeline, a CI job) never answers: say so instead of ending as if signed in.
    const closed = new Promise<never>((_, reject) =>
      rl.once('close', () =>
        reject(new CliError('stdin closed before an address was pasted; nothing was signed in.')),
      ),
    );
    const text = (await Promise.race([rl.question('> '), closed])).trim();
    try {
      return readRedirect(new URL(text));
    } catch {
      throw new CliError(
        'That is not an address (it should start with the redirect URI and carry ?code=…&state=…).',
      );
    }
  } finally {
    rl.close();
  }
}

/**
 * `relay login`: the one-time delegated sign-in the Referrals API needs (Partner Center enforces
 * MFA, so a person must do it). Authorization code flow through MSAL; the refresh token lands in
 * MSAL's cache, which the relay keeps encrypted (TOKEN_CACHE_KEY) in Postgres, where every relay
 * instance picks it up. Prints the sign-in URL and the account, never a token.
 */
export async function loginCommand(argv: string[], out: Output): Promise<number> {
  const args = parseArgs(argv, { flags: ['paste', 'json'], options: ['timeout'], positionals: 0 });
  const json = args.flags.has('json');
  // With --json, the guidance goes to stderr and stdout carries only the result.
  const say = json ? (text = '') => out.error(text) : (text = '') => out.line(text);
  const timeoutSeconds = Number(args.options.get('timeout') ?? 600);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new CliError('--timeout: must be a number of seconds');
  const { config, settings, sandbox, databaseUrl, tokenKey } = commandSettings();
  const key = tokenKey;
  if (!key) throw new CliError('TOKEN_CACHE_KEY: required to store the sign-in');
  if (!databaseUrl) throw new CliError('DATABASE_URL: required to store the sign-in');
  // The sandbox authority's registered redirect is a loopback address, whose port Entra ignores
  // when matching (RFC 8252): the rehearsal waits on a port of its own, like a real login does.
  const pc = sandbox
    ? {
        ...settings.partnerCenter,
        redirectUri:
          config.ENTRA_REDIRECT_URI ??
          `http://localhost:${config.SANDBOX_PORT_BASE + 5}${new URL(settings.partnerCenter.redirectUri).pathname}`,
      }
    : settings.partnerCenter;
  const pool = openCommandPool(databaseUrl);
  try {
    try {
      await migrate(pool);
    } catch (error) {
      throw new CliError(`DATABASE_URL: cannot prepare the database (${describeError(error)})`);
    }
    const auth = entraAuthFromSettings(pc, createTokenCacheStore(pool, key), cliLogger(config));
    const redirectUri = new URL(pc.redirectUri);
    const state = randomBytes(16).toString('hex');
    const signInUrl = await auth.getAuthCodeUrl(pc.redirectUri, state);
    let signedIn: { account: string; expiresOn?: string } | undefined;
    const finish = async (redirect: Redirect): Promise<string> => {
      if (redirect.error)
        throw new CliError(
          `Entra refused the sign-in: ${redirect.error}${redirect.errorDescription ? ` (${redirect.errorDescription})` : ''}`,
        );
      if (redirect.state !== state)
        throw new CliError(
          'The redirect carried a different state than this login started with; run login again (an old or forged link?).',
        );
      if (!redirect.code) throw new CliError('The redirect carried no code; run login again.');
      const result = await auth.redeemCode(redirect.code, pc.redirectUri);
      signedIn = result;
      say(`Signed in to Partner Center${sandbox ? ' (sandbox)' : ''} as ${result.account}.`);
      if (result.replaced.length > 0)
        say(
          `This replaces the sign-in of ${result.replaced.join(', ')}: the relay now acts as ${result.account}.`,
        );
      if (result.expiresOn)
        say(
          `Access token valid until ${result.expiresOn}; the relay refreshes it from the stored refresh token.`,
        );
      say('The sign-in is stored encrypted in the database; every relay instance uses it from now on.');
      return result.account;
    };

    say('Open this address in a browser and sign in as the Partner Center user the relay should act for');
    say('(a user with the Referrals admin role; Partner Center asks for MFA):');
    say();
    say(`  ${signInUrl}`);
    say();
    const loopback = LOOPBACK_HOSTS.has(redirectUri.hostname) && !args.flags.has('paste');
    if (loopback) {
      const { close } = await waitOnLoopback(redirectUri, timeoutSeconds * 1000, finish, () =>
        say(`Waiting for the browser to come back to ${pc.redirectUri} … (Ctrl-C to cancel)`),
      );
      await close();
    } else {
      say(`After the sign-in the browser goes to ${pc.redirectUri}; the page it shows does not matter.`);
      await finish(await readPastedRedirect(out));
    }
    if (!signedIn) throw new CliError('Nothing was signed in; run login again.');
    if (json) out.line(JSON.stringify({ account: signedIn.account, expiresOn: signedIn.expiresOn ?? null }));
    return 0;
  } finally {
    await pool.end();
  }
}
