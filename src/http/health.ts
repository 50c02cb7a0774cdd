import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../db/with-timeout';

/** How long readiness waits for the database before calling it unreachable. */
const READINESS_TIMEOUT_MS = 2000;

/**
 * `GET /healthz`: 200 while the process is up. `GET /readyz`: 200 only when
 * the database answers and no migration is pending, else 503 with the reason.
 * Neither needs a token, and neither says anything about configuration.
 */
export function registerHealthRoutes(http: FastifyInstance, orm: MikroORM): void {
  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_request, reply) => {
    const reason = await notReadyBecause(orm);
    if (reason) return reply.status(503).send({ status: 'unavailable', reason });
    return { status: 'ready' };
  });
}

async function notReadyBecause(orm: MikroORM): Promise<string | undefined> {
  try {
    const pending = await withTimeout(
      (async () => {
        await orm.em.getConnection().execute('select 1');
        return orm.getMigrator().getPendingMigrations();
      })(),
      READINESS_TIMEOUT_MS,
    );
    return pending.length > 0 ? `${pending.length} migration(s) pending` : undefined;
  } catch {
    return 'database unreachable';
  }
}
