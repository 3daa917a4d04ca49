import pg from 'pg';
import type { Logger } from '../logger.ts';

export interface LeaderElectionOptions {
  connectionString: string;
  /** Every instance that competes for the role uses the same key. */
  lockKey: number;
  retryMs: number;
  onElected(): Promise<void>;
  onDemoted(): Promise<void>;
  logger: Logger;
}

export interface LeaderElection {
  start(): void;
  stop(): Promise<void>;
  isLeader(): boolean;
}

/**
 * One leader among relay instances sharing a database, held as a session-level advisory lock on a
 * dedicated connection: the lock dies with the connection, so a crashed leader's role passes to a
 * standby within `retryMs`, and the leader probes that connection as often, stepping down when it
 * fails. Pub/Sub replay ids are per subscription, so only the leader subscribes.
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  let client: pg.Client | null = null;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> = Promise.resolve();

  const demote = async (reason: string) => {
    if (!leader) return;
    leader = false;
    // Handing the role over on the way out is the normal stop, not a warning.
    if (reason === 'stopping') options.logger.info('gave up the subscriber leadership (stopping)');
    else options.logger.warn({ reason }, 'lost the subscriber leadership');
    await options
      .onDemoted()
      .catch((error) => options.logger.error({ err: (error as Error).message }, 'demotion failed'));
  };

  const tryAcquire = async () => {
    if (stopped) return;
    if (leader) {
      // Holding the lock means nothing if its connection is gone: probe it, and step down at once
      // when it fails, before a standby (which will get the lock) starts a second subscriber.
      try {
        await client?.query('select 1');
      } catch (error) {
        const broken = client;
        client = null;
        await demote(`lock connection failed: ${(error as Error).message}`);
        await broken?.end().catch(() => undefined);
      }
      return;
    }
    try {
      if (!client) {
        // keepAlive lets the OS notice a dead peer; the query below notices it sooner.
        const fresh = new pg.Client({ connectionString: options.connectionString, keepAlive: true });
        fresh.on('error', (error) => {
          if (client === fresh) client = null;
          void demote(`lock connection failed: ${error.message}`);
        });
        fresh.on('end', () => {
          if (client === fresh) client = null;
          void demote('lock connection closed');
        });
        await fresh.connect();
        client = fresh;
      }
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
        options.lockKey,
      ]);
      if (rows[0].locked && !stopped) {
        leader = true;
        options.logger.info('elected subscriber leader');
        await options.onElected();
      }
    } catch (error) {
      options.logger.warn({ err: (error as Error).message }, 'leader election attempt failed');
      const broken = client;
      client = null;
      await broken?.end().catch(() => undefined);
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      attempt = tryAcquire().finally(schedule);
    }, options.retryMs);
    timer.unref();
  };

  return {
    start() {
      attempt = tryAcquire().finally(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await attempt.catch(() => undefined);
      await demote('stopping');
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
    isLeader: () => leader,
  };
}
