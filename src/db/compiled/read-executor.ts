import { Configuration } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClientBase } from 'pg';
import { rememberFailedStatement } from '../database-errors';
import { withPgClient } from '../read-routing';

/**
 * A read compiled once: its name makes PostgreSQL parse and plan it once per
 * connection. Without a name it is parsed and planned at every run.
 */
export interface PreparedRead {
  name?: string;
  text: string;
}

/**
 * Lends a pg client for one statement. The default borrows from the ORM's own
 * pool, so the compiled reads keep its size limit and its statement timeout;
 * a router choosing between the primary and a replica per request replaces it.
 */
export type ClientSource = <R>(work: (client: ClientBase) => Promise<R>) => Promise<R>;

/**
 * The pool of the server `em` reads from: the primary, or the replica the
 * request was routed to, with the replica's fallback to the primary.
 */
export function poolClientOf(em: EntityManager): ClientSource {
  return (work) => withPgClient(em, work);
}

/**
 * The one way a compiled read reaches PostgreSQL: a named prepared statement
 * on a pooled connection, without the QueryBuilder or knex building the SQL.
 * Statements are logged through the ORM's logger like its own (`LOG_LEVEL=trace`).
 * A compiled read runs on a connection of its own and sees committed data
 * only: what a write reads inside its transaction goes through the ORM.
 */
export class ReadExecutor {
  /** Answers already asked for in this request, by statement and values. */
  private readonly remembered = new Map<string, Promise<unknown>>();

  constructor(
    readonly em: EntityManager,
    private readonly clients: ClientSource = poolClientOf(em),
  ) {}

  /**
   * `read`, asked once per executor (one per request): a count reads every row
   * it counts, so identical counts within a request (aliases of one listing)
   * run once and share the answer.
   */
  once<R>(statement: PreparedRead, values: unknown[], read: () => Promise<R>): Promise<R> {
    const key = `${statement.name ?? statement.text}:${JSON.stringify(values)}`;
    let answer = this.remembered.get(key) as Promise<R> | undefined;
    if (!answer) this.remembered.set(key, (answer = read()));
    return answer;
  }

  async rows<R>(statement: PreparedRead, values: unknown[]): Promise<R[]> {
    observeStatement(this.em, statement.text, values);
    const started = Date.now();
    const result = await this.clients((client) => client.query({ name: statement.name, text: statement.text, values })).catch((error: unknown) => {
      rememberFailedStatement(error, statement.text);
      throw error;
    });
    logStatement(this.em, statement.text, values, Date.now() - started, result.rowCount ?? 0);
    return result.rows as R[];
  }
}

/**
 * An `onQuery` hook configured on the ORM sees compiled statements too, in its
 * own placeholder style (every statement binds $1, $2, ... in text order).
 * It observes only: a compiled statement's text is fixed.
 */
export function observeStatement(em: EntityManager, text: string, values: unknown[]): void {
  const onQuery = em.config.get('onQuery');
  if (onQuery !== Configuration.DEFAULTS.onQuery) onQuery(text.replace(/\$\d+/g, '?'), values);
}

/**
 * A statement sent outside the ORM, logged as the ORM logs its own (`LOG_LEVEL=trace`):
 * values written in only when its 'query-params' logging is on (LOG_SQL_VALUES).
 */
export function logStatement(em: EntityManager, text: string, values: unknown[], took?: number, results?: number): void {
  const logger = em.config.getLogger();
  if (!logger.isEnabled('query')) return;
  const query = logger.isEnabled('query-params') ? withValues(text, values) : text;
  logger.logQuery({ query, took, results, level: 'info' });
}

/** The statement's text with its values as SQL literals, for logs only (never sent: the values are bound). */
function withValues(text: string, values: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, position: string) => sqlLiteral(values[Number(position) - 1]));
}

function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `array[${value.map(sqlLiteral).join(', ')}]`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `'${text.replace(/'/g, "''")}'`;
}
