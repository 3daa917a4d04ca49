/**
 * The relay's HTTP listener, and its graceful stop, in order: refuse new webhooks, commit the deliveries already handed
 * in, give up the change feed, let running jobs finish (or release them before the deadline),
 * send what the CRM batcher holds, then close the server, the locks and the database.
 */
import http from 'node:http';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RelayConfig } from './config.ts';
import type { CrmAdapter } from './crm/crmAdapter.ts';
import { describeError } from './errors.ts';
import type { ChangeIntake } from './intake.ts';
import type { Logger } from './logger.ts';
import type { Database } from './store/database.ts';
import type { SyncStats } from './syncStats.ts';
import type { Workers } from './workers.ts';

/** Listens on `listen` and answers the URL clients use (loopback for a wildcard address). */
export async function listenHttp(
  app: RequestListener,
  listen: { host: string; port: number },
): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
  return { server, url: `http://${host}:${port}` };
}

export async function stopRelay(parts: {
  config: RelayConfig;
  logger: Logger;
  webhookIntake: { drain(): Promise<void> };
  changeIntake: ChangeIntake;
  workers: Workers;
  crm: Pick<CrmAdapter, 'deals'>;
  syncStats: SyncStats;
  server: http.Server;
  database: Database;
}): Promise<void> {
  const { logger, workers } = parts;
  logger.info('stopping: no new webhooks, finishing in-flight jobs');
  // Deliveries already handed in are committed before anything closes.
  await parts.webhookIntake.drain();
  await parts.changeIntake.stop();
  const graceful = workers.queue.stop().then(
    () => 'stopped' as const,
    (error: unknown) => {
      logger.error({ err: describeError(error) }, 'queue did not stop cleanly');
      return 'stopped' as const;
    },
  );
  const timeout = new Promise<'timeout'>((resolve) =>
    setTimeout(() => resolve('timeout'), Math.max(1000, parts.config.SHUTDOWN_TIMEOUT_MS - 3000)).unref(),
  );
  if ((await Promise.race([graceful, timeout])) === 'timeout') {
    // Jobs still running are failed back to the queue (an attempt used, retried after the
    // queue's backoff) rather than left locked until graphile-worker's lock timeout.
    logger.warn('jobs did not finish in time; releasing them');
    await workers.queue.runner.kill().catch(() => undefined);
  }
  await parts.crm.deals.flush().catch(() => undefined);
  await parts.syncStats.stop();
  parts.server.closeIdleConnections();
  await new Promise<void>((resolve) => parts.server.close(() => resolve()));
  await workers.close();
  await parts.database.close();
  logger.info('stopped');
}
