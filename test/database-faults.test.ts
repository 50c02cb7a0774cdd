import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { adminAuthorization, TEST_JWT_SECRET } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';

/**
 * The real server on a database reached through a proxy that can freeze
 * (TCP open, nothing answers) or refuse connections, as a frozen, partitioned
 * or stopped PostgreSQL does.
 */
const REQUEST_TIMEOUT_MS = 2000;

let database: TestDatabase;
let proxy: FaultProxy;
let app: App;
let direct: pg.Pool;
let authorization: string;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startFaultProxy(database.url);
  const config = {
    ...loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }),
    port: 0,
    databaseUrl: proxy.url,
  };
  app = await createApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  direct = new pg.Pool({ connectionString: database.url, max: 2 });
  authorization = await adminAuthorization();
});
afterAll(async () => {
  proxy?.heal();
  await app?.stop();
  await direct?.end();
  await proxy?.close();
  await database?.drop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  ms: number;
}

async function send(query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Answer['body'], ms: Date.now() - started };
}

const createUser = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }';
const listUsers = '{ users(first: 5) { totalCount nodes { id } } }';

function expectUnavailable(answer: Answer): void {
  expect(answer.status).toBe(503);
  expect(answer.retryAfter).toMatch(/^\d+$/);
  expect(answer.body.errors?.map((error) => error.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
}

async function waitForRecovery(): Promise<Answer> {
  const deadline = Date.now() + 15_000;
  let answer = await send(listUsers);
  while (answer.status !== 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    answer = await send(listUsers);
  }
  return answer;
}

describe('a frozen database', () => {
  it('fails every request in flight within the client-side deadline, with 503 SERVICE_UNAVAILABLE and Retry-After; nothing half-done commits', async () => {
    expect((await send(listUsers)).status).toBe(200);
    proxy.freeze();
    try {
      // More requests than the pool has connections, so some also wait for one.
      const answers = await Promise.all([
        ...Array.from({ length: 12 }, () => send(listUsers)),
        ...Array.from({ length: 3 }, (_, i) => send(createUser, { input: { username: `frozen_${i}`, email: `frozen_${i}@example.com` } })),
      ]);
      for (const answer of answers) {
        expectUnavailable(answer);
        // The deadline of one statement, plus a pooled-connection wait of half of it, plus slack for a loaded machine.
        expect(answer.ms).toBeLessThan(REQUEST_TIMEOUT_MS * 1.5 + 2500);
      }
    } finally {
      proxy.heal();
    }
    const recovered = await waitForRecovery();
    expect(recovered.status).toBe(200);
    expect(recovered.body.errors).toBeUndefined();
    // The writes whose clients got 503 never committed, not even once the database came back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows } = await direct.query(`select count(*)::int as n from users where username like 'frozen_%'`);
    expect(rows[0].n).toBe(0);
  });

  it('a connection abandoned inside a transaction is never reused: later writes commit on their own', async () => {
    proxy.freeze();
    const stuck = await send(createUser, { input: { username: 'abandoned', email: 'abandoned@example.com' } });
    proxy.heal();
    expectUnavailable(stuck);
    await waitForRecovery();
    // Had the connection gone back to the pool, its BEGIN, delivered late, would leave it idle inside a transaction.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const open = await direct.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`);
    expect(open.rows[0].n).toBe(0);
    // One after another, so that each reuses whatever the pool holds, and a loaded machine cannot starve the pool.
    for (let i = 0; i < 10; i++) {
      const answer = await send(createUser, { input: { username: `after_${i}`, email: `after_${i}@example.com` } });
      expect(answer.body.errors).toBeUndefined();
    }
    const { rows } = await direct.query(`select username from users where username = 'abandoned' or username like 'after_%' order by username`);
    expect(rows.map((row) => row.username)).toEqual(Array.from({ length: 10 }, (_, i) => `after_${i}`));
  });
});

describe('an unreachable database', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After quickly, reports not ready, and recovers when it is back', async () => {
    proxy.refuse();
    try {
      const answer = await send(listUsers);
      expectUnavailable(answer);
      expect(answer.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2000);
      const write = await send(createUser, { input: { username: 'refused', email: 'refused@example.com' } });
      expectUnavailable(write);
      const ready = await fetch(app.url.replace('/graphql', '/readyz'));
      expect(ready.status).toBe(503);
      expect((await fetch(app.url.replace('/graphql', '/healthz'))).status).toBe(200);
      // Metrics still answer, with everything but the trash counts the database would give.
      const metrics = await fetch(app.url.replace('/graphql', '/metrics'));
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toMatch(/^db_pool_connections\{state="used"\} \d+$/m);
      expect(text).toMatch(/^graphql_errors_total\{code="SERVICE_UNAVAILABLE"\} \d+$/m);
      expect(text).not.toMatch(/^trash_items\{/m);
    } finally {
      proxy.heal();
    }
    const recovered = await waitForRecovery();
    expect(recovered.status).toBe(200);
    expect((await fetch(app.url.replace('/graphql', '/readyz'))).status).toBe(200);
    expect(await (await fetch(app.url.replace('/graphql', '/metrics'))).text()).toMatch(/^trash_items\{type="User"\} \d+$/m);
  });
});
