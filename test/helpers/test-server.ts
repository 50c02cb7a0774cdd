import pino, { type Logger } from 'pino';
import pg from 'pg';
import { createApp, type App } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { Clock } from '../../src/service-context';
import { adminAuthorization, TEST_JWT_SECRET } from './auth';
import { createTestDatabase } from './database';

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export interface TestServer {
  app: App;
  url: string;
  /** This file's own database. */
  databaseUrl: string;
  /** A plain connection to this file's database, to check what really is stored. */
  sql: pg.Pool;
  /** As an admin (the test token's subject is ADMIN_ID). */
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** With the given `Authorization` header value, or none (anonymous) when null. */
  gqlAs<T = any>(authorization: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  clock?: Clock;
  config?: Partial<Config>;
  logger?: Logger;
}

/** Starts the real server (HTTP, GraphQL, ORM, migrations) on a fresh database of its own. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const database = await createTestDatabase();
  const config: Config = {
    ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }),
    port: 0,
    databaseUrl: database.url,
    ...options.config,
  };
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await createApp(config, { clock: options.clock, logger });
  const sql = new pg.Pool({ connectionString: database.url, max: 2 });
  const admin = await adminAuthorization();
  return {
    app,
    url: app.url,
    databaseUrl: database.url,
    sql,
    gql: (query, variables, headers) => postGraphQL(app.url, query, variables, { authorization: admin, ...headers }),
    gqlAs: (authorization, query, variables) => postGraphQL(app.url, query, variables, authorization === null ? {} : { authorization }),
    stop: async () => {
      await sql.end();
      await app.stop();
      await database.drop();
    },
  };
}

export async function postGraphQL<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** The single error of a response that is expected to fail, for compact assertions. */
export function onlyError(response: GraphQLResponse): { message: string; code: string; extensions: Record<string, any> } {
  if (!response.errors || response.errors.length !== 1) {
    throw new Error(`expected exactly one error, got ${JSON.stringify(response)}`);
  }
  const [error] = response.errors;
  return { message: error.message, code: error.extensions?.code, extensions: error.extensions ?? {} };
}

/** A clock that never repeats an instant: two trash operations share a deletedAt only when they are one operation. */
export function monotonicClock(): Clock {
  let lastTick = 0;
  return () => {
    lastTick = Math.max(Date.now(), lastTick + 1);
    return new Date(lastTick);
  };
}
