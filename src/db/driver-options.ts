import type pg from 'pg';
import type { Logger } from 'pino';

/** Connection settings of one ORM instance; see `driverOptions`. */
export interface OrmSettings {
  /** PostgreSQL's statement_timeout (0 = none): the server cancels a slow statement. */
  statementTimeoutMs?: number;
  /**
   * Client-side deadline of one database call, which holds even when
   * PostgreSQL cannot answer at all (frozen, partitioned): each statement waits
   * at most this long, and a pooled connection at most half of it.
   */
  requestTimeoutMs?: number;
  /** With trace logging, show statements with their values (LOG_SQL_VALUES): personal data, for debugging only. */
  logSqlValues?: boolean;
}

/**
 * The driver (knex and pg) options behind `OrmSettings`: PostgreSQL's own
 * statement timeout, client-side deadlines that hold when PostgreSQL cannot
 * answer, no values in error messages, and driver warnings in the JSON log.
 */
export function driverOptions(limits: OrmSettings, logger?: Logger): Record<string, unknown> {
  const acquireTimeoutMs = limits.requestTimeoutMs ? Math.floor(limits.requestTimeoutMs / 2) : undefined;
  return {
    connection: {
      // A slow query cannot hold a connection forever: PostgreSQL cancels it (0 = no limit).
      ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
      ...(limits.requestTimeoutMs ? { query_timeout: limits.requestTimeoutMs, connectionTimeoutMillis: acquireTimeoutMs } : {}),
    },
    ...(acquireTimeoutMs ? { acquireConnectionTimeout: acquireTimeoutMs } : {}),
    // knex would otherwise put the statement with its values into the error message.
    compileSqlOnError: false,
    pool: { afterCreate: discardAfterClientTimeout },
    // knex writes its warnings (a dropped connection, say) to the console; they belong in the JSON log.
    log: {
      warn: (message: unknown) => logger?.warn({ driver: String(message) }, 'database driver warning'),
      error: (message: unknown) => logger?.error({ driver: String(message) }, 'database driver error'),
      deprecate: () => undefined,
      debug: () => undefined,
    },
  };
}

type QueryCallback = (error: Error | null, result?: unknown) => void;

/**
 * When pg gives up on a statement client-side (`query_timeout`), the
 * connection may still be inside a transaction whose ROLLBACK was never sent:
 * reused, the next request's statements would run, and commit, inside it.
 * Such a connection is closed instead, which also makes PostgreSQL roll its
 * transaction back.
 */
function discardAfterClientTimeout(connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void): void {
  const query = connection.query.bind(connection) as (config: unknown, callback: QueryCallback) => unknown;
  (connection as unknown as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    // knex always calls query(config, callback); other forms pass through untouched.
    if (typeof values !== 'function' || callback !== undefined) return (query as (...args: unknown[]) => unknown)(config, values, callback);
    return query(config, (error, result) => {
      if (error?.message === 'Query read timeout') dropConnection(connection);
      (values as QueryCallback)(error, result);
    });
  };
  done(null, connection);
}

/** Closes the socket at once: nothing more, a COMMIT included, can be sent on it, and PostgreSQL rolls back what it had open. */
export function dropConnection(connection: pg.Client): void {
  (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
