import { createHash } from 'node:crypto';

/**
 * What the server may say about a failed database call. SQL errors carry the
 * statement's values in their message (knex), in PostgreSQL's `detail` and
 * `where`, and sometimes in PostgreSQL's own message ("invalid input syntax
 * for type uuid: ..."), so none of those is ever logged: only the error code,
 * the constraint, table and column it names, and a fingerprint of the
 * statement's parameterised text.
 */
export interface DatabaseErrorSummary {
  type: string;
  /** SQLSTATE (e.g. 23505) or a Node network code (ECONNREFUSED). */
  code?: string;
  constraint?: string;
  table?: string;
  column?: string;
  /** PostgreSQL's function that raised it (e.g. string_to_uuid): where, not what. */
  routine?: string;
  /** First 12 hex digits of SHA-256 over the statement text with placeholders, never its values. */
  statement?: string;
  /**
   * The message, only when it cannot contain values: the driver's timeouts and
   * network errors, and PostgreSQL's errors of classes that name schema
   * objects only (an unknown column, a lock timeout, a cancelled statement).
   */
  message?: string;
  stack?: string;
}

/**
 * The parameterised SQL of a failed statement. A string key, not a symbol:
 * MikroORM copies the driver error's own property names onto its wrapper.
 */
const failedStatement = 'failedStatementSql';

/** Marks an error raised by a statement with that statement's text (placeholders only). */
export function rememberFailedStatement(error: unknown, sql: string): void {
  if (error && typeof error === 'object') Object.defineProperty(error, failedStatement, { value: sql, enumerable: false, writable: true, configurable: true });
}

/**
 * SQLSTATE classes whose messages name schema objects or states, never data:
 * 08 connection, 25 transaction state, 40 rollback, 42 syntax or access rule
 * (undefined column ...), 53 resources, 54 limits, 55 object state (lock not
 * available), 57 operator intervention (statement timeout, shutdown). Left
 * out on purpose: 22 data exceptions ("invalid input syntax ...: <value>"),
 * 23 integrity violations (values in the detail), P0 raised by functions.
 */
const VALUE_FREE_CLASSES = /^(08|25|40|42|53|54|55|57)/;

/** SQLSTATE classes and codes meaning "the database cannot be reached or is going away", not "the request is wrong". */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-3]|53300)$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
/** Messages of pg and knex for a connection that failed or a deadline that passed; neither carries a code. */
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'Connection terminated',
  'timeout expired',
  'Knex: Timeout acquiring a connection',
  'Client has encountered a connection error and is not queryable',
  'Unable to acquire a connection',
  // What knex says when a transaction's BEGIN already failed (its deadline passed) and work goes on in it.
  'Transaction query already complete',
];

/**
 * True when the error means the database is unreachable, too slow to answer
 * within the request's deadline, or shutting down: worth a retry later, not
 * a fault of the request.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as Error).cause, depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.test(code) || NETWORK_CODES.has(code))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((known) => message.includes(known))) return true;
  }
  return false;
}

/** True for errors raised by PostgreSQL, the pg driver, knex or MikroORM's wrappers of them. */
export function isDatabaseError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const candidate = error as { code?: unknown; severity?: unknown; sqlState?: unknown; name?: unknown };
  return (
    failedStatement in candidate ||
    typeof candidate.severity === 'string' ||
    candidate.sqlState !== undefined ||
    /Exception$|^KnexTimeoutError$/.test(String(candidate.name)) ||
    isDatabaseUnavailable(error)
  );
}

/** The loggable part of a database error; see DatabaseErrorSummary for what is left out and why. */
export function summariseDatabaseError(error: Error): DatabaseErrorSummary {
  const fields = error as Error & Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' && fields[key] !== '' ? (fields[key] as string) : undefined);
  const sql = fields[failedStatement] as string | undefined;
  const fromServer = typeof fields.severity === 'string';
  const summary: DatabaseErrorSummary = {
    type: error.name,
    code: text('code'),
    constraint: text('constraint'),
    table: text('table'),
    column: text('column'),
    routine: text('routine'),
    statement: sql ? fingerprint(sql) : undefined,
    message: fromServer ? serverMessage(error.message, sql, text('code')) : driverMessage(error.message, sql),
    stack: error.stack?.split('\n').filter((line) => line.trim().startsWith('at ')).join('\n'),
  };
  return Object.fromEntries(Object.entries(summary).filter(([, value]) => value !== undefined)) as DatabaseErrorSummary;
}

export function fingerprint(sql: string): string {
  return createHash('sha256').update(sql.replace(/\s+/g, ' ').trim()).digest('hex').slice(0, 12);
}

/** knex prefixes the statement ("<sql> - <message>"); MikroORM appends PostgreSQL's detail and hint on lines of their own. */
function ownMessage(message: string, sql: string | undefined): string {
  return sql && message.startsWith(`${sql} - `) ? message.slice(sql.length + 3) : message;
}

function serverMessage(message: string, sql: string | undefined, code: string | undefined): string | undefined {
  return code && VALUE_FREE_CLASSES.test(code) ? ownMessage(message, sql).split('\n')[0] : undefined;
}

/** Only a known driver message is kept. */
function driverMessage(message: string, sql: string | undefined): string | undefined {
  const own = ownMessage(message, sql);
  const known = UNAVAILABLE_MESSAGES.find((candidate) => own.includes(candidate));
  if (known) return own.split('\n')[0];
  return /^(connect|read|write) E[A-Z]+/.test(own) || /^getaddrinfo E[A-Z]+/.test(own) ? own.split('\n')[0] : undefined;
}
