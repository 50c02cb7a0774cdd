import pg from 'pg';
import type { Logger } from 'pino';

/** Start-up gave up: the database did not answer within DB_CONNECT_TIMEOUT_S, or refused the credentials. */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

export interface WaitOptions {
  /** Give up after this many seconds (0: one attempt). */
  timeoutS: number;
  logger: Logger;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5000;
/** One attempt may not take longer than this, so a black-holed address still gives a line per attempt. */
const ATTEMPT_TIMEOUT_MS = 3000;

/**
 * SQLSTATEs that waiting will not fix: wrong password or user, unknown
 * database, no permission. Everything else (refused, reset, timed out,
 * "the database system is starting up") is retried.
 */
const PERMANENT = /^(28...|3D000|42501)$/;

/**
 * Tries to connect and run `select 1` until it works, with exponential
 * backoff, logging one line per failed attempt with host:port and the cause.
 * Throws DatabaseUnreachableError once the deadline has passed.
 */
export async function waitForDatabase(url: string, options: WaitOptions): Promise<void> {
  const where = hostAndPort(url);
  const deadline = Date.now() + options.timeoutS * 1000;
  let delayMs = FIRST_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    const remainingMs = deadline - Date.now();
    const cause = await tryOnce(url, Math.max(1000, Math.min(ATTEMPT_TIMEOUT_MS, remainingMs)));
    if (!cause) {
      if (attempt > 1) options.logger.info({ database: where, attempts: attempt }, 'database reachable');
      return;
    }
    const waitMs = cause.permanent ? 0 : Math.min(delayMs, deadline - Date.now());
    const next = waitMs > 0 ? `retrying in ${waitMs} ms` : 'giving up';
    options.logger.warn({ database: where, attempt, cause: cause.text, ...(waitMs > 0 ? { retryInMs: waitMs } : {}) }, `database at ${where} not reachable: ${cause.text}; ${next}`);
    if (cause.permanent) throw new DatabaseUnreachableError(`Database at ${where} refused the connection: ${cause.text}`);
    if (waitMs <= 0) {
      throw new DatabaseUnreachableError(`Database at ${where} not reachable after ${options.timeoutS} s (${attempt} attempts; last: ${cause.text}); giving up (DB_CONNECT_TIMEOUT_S)`);
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
  }
}

async function tryOnce(url: string, timeoutMs: number): Promise<{ text: string; permanent: boolean } | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A connection that fails after connecting must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const text = [code, message?.split('\n')[0]].filter(Boolean).join(' ') || 'unknown error';
    return { text, permanent: typeof code === 'string' && PERMANENT.test(code) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** host:port of a database URL, without user or password. */
export function hostAndPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 5432}`;
}
