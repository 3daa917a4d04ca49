/**
 * The system under fault: one embedded PostgreSQL cluster of its own (so the suite can restart
 * it), the sandboxes in this process, and two production-mode relay processes on one database
 * behind a small front that spreads Partner Center's webhook deliveries over the live instances
 * (what a platform router does). A supervisor restarts an instance that died, as the platform
 * would; the suite kills them with SIGKILL or arms a crash point (relay/src/crashPoint.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../relay/src/store/embeddedPostgres.ts';
import type { RunningCluster } from '../../relay/src/store/embeddedPostgres.ts';
import { startSandboxes } from '../../relay/sandbox/index.ts';
import type { Sandboxes } from '../../relay/sandbox/index.ts';
import { freePort } from '../support/ports.ts';
import { FORCE_APP } from '../support/relayHarness.ts';
import {
  ADMIN_TOKEN,
  productionEnv,
  signInAndRegister,
  spawnRelay,
  tempDir,
} from '../support/relayProcess.ts';
import type { RelayProcess } from '../support/relayProcess.ts';

export type InstanceName = 'A' | 'B';

export interface Instance {
  name: InstanceName;
  url: string;
  /** The live process, if any. */
  current(): RelayProcess | undefined;
  /** The crash point the live process was started with, if any. */
  armedPoint(): string | undefined;
}

export interface ExitRecord {
  instance: InstanceName;
  pid: number | undefined;
  /** What ended it: our SIGKILL, its own crash point, or anything else (code or signal). */
  cause: 'killed' | 'crash-point' | 'other';
  detail: string;
  tail: string;
}

export interface ChaosSystem {
  sandboxes: Sandboxes;
  db: pg.Pool;
  databaseUrl: string;
  instances: Record<InstanceName, Instance>;
  /** Every process that ended while the suite ran. */
  exits: ExitRecord[];
  /** Processes started, the first two included. */
  starts(): number;
  /** SIGKILL now; the supervisor starts it again (with `nextCrashPoint` armed, if given). */
  kill(name: InstanceName, nextCrashPoint?: string): Promise<void>;
  /** Restarts PostgreSQL (a fast shutdown, as a managed database's failover or maintenance does). */
  restartPostgres(): Promise<void>;
  /** Highest number of Pub/Sub subscriptions open at once, sampled every 20 ms. */
  maxSubscribers(): number;
  /** The instance holding the subscriber role, if one answers that it does. */
  leader(): Promise<InstanceName | undefined>;
  /** An admin API call on whichever instance answers. */
  admin(method: 'GET' | 'POST', route: string): Promise<unknown>;
  /** Both instances up and answering /healthz. */
  bothReady(timeoutMs?: number): Promise<void>;
  /** Sign-in as `relay login` does it (stores a fresh token cache in the database). */
  login(): Promise<void>;
  stop(): Promise<void>;
}

export interface ChaosSystemOptions {
  /** Partner Center's clock, relative to the relay's (ms). */
  partnerCenterClockOffset: () => number;
  /** Extra relay settings. */
  env?: Record<string, string>;
  log: (line: string) => void;
}

const TAIL = 4000;

export async function startChaosSystem(options: ChaosSystemOptions): Promise<ChaosSystem> {
  // mkdtemp's folder is private (0700); as root the postgres user must be able to enter it.
  const dataRoot = mkdtempSync(path.join(os.tmpdir(), 'cosell-chaos-'));
  chmodSync(dataRoot, 0o711);
  const pgPort = await freePort();
  const clusterOptions = { dataDir: path.join(dataRoot, 'pg'), port: pgPort, persistent: true };
  let cluster: RunningCluster = await startEmbeddedPostgres(clusterOptions);
  {
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('create database chaos');
    await admin.end();
  }
  const databaseUrl = cluster.urlFor('chaos');
  const sandboxes = await startSandboxes({
    forceAppDir: FORCE_APP,
    partnerCenter: {
      deliveryBackoffMs: (failed) => Math.min(50 * 2 ** (failed - 1), 1000),
      now: () => new Date(Date.now() + options.partnerCenterClockOffset()),
    },
    pubsub: { keepaliveMs: 500 },
  });
  const files = tempDir('chaos');

  // ---- the front for webhook deliveries ---------------------------------------------------
  const live: RelayProcess[] = [];
  let turn = 0;
  const front = http.createServer((req, res) => {
    const target = live.length > 0 ? live[turn++ % live.length] : undefined;
    if (!target) {
      res.writeHead(502).end();
      return;
    }
    const upstream = http.request(
      `${target.url}${req.url}`,
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;

  await signInAndRegister(sandboxes, { databaseUrl, webhookUrl: `${frontUrl}/webhooks/partner-center` });
  const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  db.on('error', () => undefined);
  db.on('connect', (client) => client.on('error', () => undefined));

  // ---- instances and their supervisor -----------------------------------------------------
  let stopping = false;
  let started = 0;
  const exits: ExitRecord[] = [];
  const envOf = async (): Promise<Record<string, string>> => {
    const port = await freePort();
    return {
      ...productionEnv(sandboxes, { databaseUrl, port, files }),
      // One registration, behind the front: each instance's own PUBLIC_URL is only for its logs.
      // CHAOS_LOG_LEVEL=info with CHAOS_LOG_DIR keeps every instance's log, to trace a finding.
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn',
      WORKER_CONCURRENCY: '20',
      ...options.env,
    };
  };
  const makeInstance = async (name: InstanceName) => {
    const env = await envOf();
    let proc: RelayProcess | undefined;
    let armed: string | undefined;
    let killing = false;
    let launching: Promise<void> = Promise.resolve();
    const launch = async (crashPoint?: string): Promise<void> => {
      for (let attempt = 0; !stopping; attempt++) {
        armed = crashPoint;
        const child = spawnRelay(crashPoint ? { ...env, COSELL_CRASH_POINT: crashPoint } : env);
        started++;
        proc = child;
        try {
          // Generous: on a loaded machine a relay process takes tens of seconds to load and migrate.
          await child.ready(120_000);
        } catch (error) {
          // Died or hung while starting (the database may be down): start again, as a platform would.
          child.kill('SIGKILL');
          await child.exited;
          options.log(`instance ${name} failed to start (${(error as Error).message.split('\n')[0]}); again`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 200 * (attempt + 1))));
          continue;
        }
        live.push(child);
        const run = started;
        void child.exited.then(({ code, signal }) => {
          const logDir = process.env.CHAOS_LOG_DIR;
          if (logDir) {
            mkdirSync(logDir, { recursive: true });
            writeFileSync(path.join(logDir, `${name}-${run}.log`), child.output());
          }
          live.splice(live.indexOf(child), 1);
          if (proc === child) proc = undefined;
          const cause = killing ? 'killed' : signal === 'SIGKILL' && armed ? 'crash-point' : 'other';
          exits.push({
            instance: name,
            pid: child.child.pid,
            cause,
            detail: `${code ?? signal}${armed ? ` (armed ${armed})` : ''}`,
            tail: child.output().slice(-TAIL),
          });
          if (cause === 'other' && !stopping)
            options.log(`instance ${name} exited by itself: ${code ?? signal}`);
          if (!killing && !stopping) launching = launch();
        });
        return;
      }
    };
    const instance: Instance & {
      launch: typeof launch;
      kill(next?: string): Promise<void>;
    } = {
      name,
      url: `http://127.0.0.1:${env.PORT}`,
      current: () => proc,
      armedPoint: () => armed,
      launch,
      async kill(next) {
        // A restart already under way (after a crash point fired) finishes first.
        await launching;
        const victim = proc;
        if (victim) {
          killing = true;
          victim.kill('SIGKILL');
          await victim.exited;
          killing = false;
        }
        launching = launch(next);
        await launching;
      },
    };
    return instance;
  };
  const a = await makeInstance('A');
  const b = await makeInstance('B');
  await Promise.all([a.launch(), b.launch()]);

  let maxSubscribers = 0;
  const sampler = setInterval(() => {
    maxSubscribers = Math.max(maxSubscribers, sandboxes.pubsub.counters.activeSubscriptions);
  }, 20);

  const admin = async (method: 'GET' | 'POST', route: string): Promise<unknown> => {
    let lastError: unknown;
    for (const instance of [a, b, a, b]) {
      if (!instance.current()) continue;
      try {
        const response = await fetch(`${instance.url}${route}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        if (response.ok) return await response.json();
        lastError = new Error(`${method} ${route}: HTTP ${response.status}`);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError ?? new Error(`${method} ${route}: no instance is up`);
  };

  return {
    sandboxes,
    db,
    databaseUrl,
    instances: { A: a, B: b },
    exits,
    starts: () => started,
    kill: (name, next) => (name === 'A' ? a : b).kill(next),
    async restartPostgres() {
      await cluster.stop();
      cluster = await startEmbeddedPostgres(clusterOptions);
    },
    maxSubscribers: () => maxSubscribers,
    admin,
    async leader() {
      for (const instance of [a, b]) {
        if (!instance.current()) continue;
        const status = await fetch(`${instance.url}/api/status`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
          .then((r) => r.json() as Promise<{ checks?: { subscriber?: { role?: string } } }>)
          .catch(() => undefined);
        if (status?.checks?.subscriber?.role === 'leader') return instance.name;
      }
      return undefined;
    },
    async bothReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const procs = [a.current(), b.current()];
        if (procs[0] && procs[1]) {
          try {
            await Promise.all(procs.map((p) => p?.ready(Math.max(1000, deadline - Date.now()))));
            return;
          } catch (error) {
            // One died while starting (its crash point fired, PostgreSQL was down): its supervisor
            // starts it again, as a platform would.
            if (Date.now() > deadline) throw error;
          }
        }
        if (Date.now() > deadline) throw new Error('Timed out waiting for both relay instances to be up');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async login() {
      // An operator runs `relay login` again when it fails (a 429 storm may be on); so does the suite.
      for (let attempt = 1; ; attempt++) {
        try {
          await signInAndRegister(sandboxes, {
            databaseUrl,
            webhookUrl: `${frontUrl}/webhooks/partner-center`,
          });
          return;
        } catch (error) {
          if (attempt >= 30) throw error;
          options.log(`relay login failed (${(error as Error).message}); again`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    },
    async stop() {
      stopping = true;
      clearInterval(sampler);
      for (const instance of [a, b]) {
        const p = instance.current();
        p?.kill('SIGKILL');
        await p?.exited;
      }
      await db.end().catch(() => undefined);
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await sandboxes.close();
      await cluster.stop().catch(() => undefined);
      files.dispose();
      rmSync(dataRoot, { recursive: true, force: true });
      rmSync(`${clusterOptions.dataDir}.password`, { force: true });
    },
  };
}
