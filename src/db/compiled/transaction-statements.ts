import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClientBase, QueryResult } from 'pg';
import { rememberFailedStatement } from '../database-errors';
import { logStatement, observeStatement, type PreparedRead } from './read-executor';

interface TransactionClient {
  client: { acquireConnection(): Promise<ClientBase> };
}

/**
 * Runs a compiled statement inside the ORM transaction `em` belongs to (an
 * `em.transactional` callback's), on that transaction's own connection: the
 * ORM's transaction, pool, timeouts and logger, without the QueryBuilder and
 * knex's runner building and wrapping each statement. Errors are converted
 * exactly as the ORM converts its own (UniqueConstraintViolationException, ...).
 */
export async function transactionRows<R>(em: EntityManager, statement: PreparedRead, values: unknown[]): Promise<R[]> {
  const transaction = em.getTransactionContext<TransactionClient>();
  if (!transaction) throw new Error('A compiled write runs inside em.transactional');
  // knex's transaction client lends its one connection, and never releases it to the pool.
  const client = await transaction.client.acquireConnection();
  observeStatement(em, statement.text, values);
  const started = Date.now();
  try {
    const result = await query(client, { name: statement.name, text: statement.text, values });
    logStatement(em, statement.text, values, Date.now() - started, result.rowCount ?? 0);
    return result.rows as R[];
  } catch (error) {
    rememberFailedStatement(error, statement.text);
    throw em.getDriver().convertException(error as Error);
  }
}

/**
 * The callback form, as knex calls it: the pool's guard that closes a
 * connection after a client-side timeout (db/driver-options.ts) sees this call too.
 */
function query(client: ClientBase, config: { name?: string; text: string; values: unknown[] }): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    (client.query as unknown as (config: unknown, callback: (error: Error | null, result: QueryResult) => void) => void)(config, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}
