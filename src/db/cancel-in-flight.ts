import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from 'pino';
import { dropConnection } from './driver-options';

/** What the terminating connection may take: shutdown must end within its grace period plus a second. */
const TERMINATE_BUDGET_MS = 500;

interface PoolWithUsed {
  used?: Array<{ resource: pg.Client }>;
}

/**
 * At the end of the shutdown grace period: every connection the pool has
 * lent out is closed at once, so no statement, and no COMMIT, is sent on it
 * any more, and its backend is terminated, which cancels the statement it
 * runs (or waits on a lock for) and rolls back its transaction. A write whose
 * client was cut off is therefore never committed behind its back.
 */
export async function cancelInFlight(orm: MikroORM, url: string, logger: Logger): Promise<void> {
  const pool = orm.em.getConnection().getKnex().client.pool as PoolWithUsed | undefined;
  const busy = (pool?.used ?? []).map((used) => used.resource);
  if (busy.length === 0) return;
  const backendIds = busy.map((connection) => (connection as pg.Client & { processID?: number }).processID).filter((id): id is number => typeof id === 'number');
  for (const connection of busy) dropConnection(connection);
  logger.warn({ connections: busy.length }, 'shutdown: cancelling statements still running and rolling back their transactions');
  const terminator = new pg.Client({ connectionString: url, connectionTimeoutMillis: TERMINATE_BUDGET_MS, query_timeout: TERMINATE_BUDGET_MS });
  terminator.on('error', () => undefined);
  try {
    await terminator.connect();
    await terminator.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [backendIds]);
  } catch (error) {
    // The sockets are closed already: PostgreSQL rolls those transactions back when it notices.
    logger.warn({ err: error }, 'shutdown: could not terminate the backends of cancelled statements');
  } finally {
    await terminator.end().catch(() => undefined);
  }
}
