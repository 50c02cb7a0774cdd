import { Writable } from 'node:stream';
import pino from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminAuthorization } from './helpers/auth';
import { MAX_OPERATION_LABELS } from '../src/observability/metrics';
import { createStatementCounter } from './helpers/sql-counter';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

const logText: string[] = [];
const logLines = () => logText.flatMap((chunk) => chunk.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>));

let server: TestServer;
let base: string;
beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText.push(chunk.toString());
      done();
    },
  });
  server = await startTestServer({ logger: pino({ level: 'info' }, sink) });
  base = server.url.replace(/\/graphql$/, '');
});
afterAll(() => server?.stop());

describe('health and readiness', () => {
  it('GET /healthz answers 200 without a token', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when the database answers and no migration is pending', async () => {
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready' });
  });

  it('GET /readyz answers 503 saying why while a migration is pending, and nothing about configuration', async () => {
    const { rows } = await server.sql.query('delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations) returning *');
    try {
      const response = await fetch(`${base}/readyz`);
      expect(response.status).toBe(503);
      const body = await response.json();
      expect(body).toEqual({ status: 'unavailable', reason: '1 migration(s) pending' });
    } finally {
      const [row] = rows;
      await server.sql.query('insert into mikro_orm_migrations (id, name, executed_at) values ($1, $2, $3)', [row.id, row.name, row.executed_at]);
    }
  });

  it('GET /readyz answers 503 when the database is gone, while /healthz still answers', async () => {
    const doomed = await startTestServer();
    try {
      await doomed.sql.end();
      const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
      await admin.connect();
      await admin.query(`drop database "${new URL(doomed.databaseUrl).pathname.slice(1)}" with (force)`);
      await admin.end();
      const response = await fetch(doomed.url.replace(/\/graphql$/, '/readyz'));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
      expect((await fetch(doomed.url.replace(/\/graphql$/, '/healthz'))).status).toBe(200);
    } finally {
      await doomed.app.stop().catch(() => undefined);
    }
  });
});

describe('metrics', () => {
  it('GET /metrics exposes requests by operation and outcome, errors by code, trash items, purged rows, pool and process metrics', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    await server.gql('query ListUsers { users { totalCount } }');
    await server.gql('mutation Missing { restoreUser(id: "nope") { id } }');
    await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: (await createAndTrash()).id });

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/graphql_requests_total\{operation="ListUsers",outcome="success"\} [1-9]/);
    expect(text).toMatch(/graphql_requests_total\{operation="Missing",outcome="error"\} 1/);
    expect(text).toMatch(/graphql_request_duration_seconds_bucket\{le="[^"]+",operation="ListUsers",outcome="success"\}/);
    expect(text).toMatch(/graphql_errors_total\{code="NOT_FOUND"\} [1-9]/);
    expect(text).toMatch(/trash_items\{type="User"\} [1-9]/);
    expect(text).toMatch(/trash_items\{type="Post"\} \d+/);
    expect(text).toMatch(/trash_purged_rows_total\{type="User"\} [1-9]/);
    expect(text).toMatch(/db_pool_connections\{state="used"\} \d+/);
    expect(text).toMatch(/process_cpu_user_seconds_total \d/);
  });

  it('METRICS=false turns the endpoint off', async () => {
    const quiet = await startTestServer({ config: { metrics: false } });
    try {
      expect((await fetch(quiet.url.replace(/\/graphql$/, '/metrics'))).status).toBe(404);
    } finally {
      await quiet.stop();
    }
  });
});

describe('metrics stay small and cheap whatever clients send', () => {
  const metricsText = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers })).text();
  const operationLabels = (text: string) => new Set([...text.matchAll(/graphql_requests_total\{operation="([^"]*)"/g)].map((match) => match[1]));

  it('labels only operations present in the document: a name absent from it counts as unresolved', async () => {
    await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Present { __typename }', operationName: 'Absent' }),
    });
    const labels = operationLabels(await metricsText(`${base}/metrics`));
    expect(labels.has('Absent')).toBe(false);
    expect(labels.has('unresolved')).toBe(true);
  });

  it(`keeps at most ${MAX_OPERATION_LABELS} operation names; later ones count as other`, async () => {
    const fresh = await startTestServer();
    try {
      for (let i = 0; i < MAX_OPERATION_LABELS + 20; i += 1) await fresh.gql(`query Op${i} { __typename }`);
      const labels = operationLabels(await metricsText(fresh.url.replace(/\/graphql$/, '/metrics')));
      expect(labels.size).toBe(MAX_OPERATION_LABELS + 1);
      expect(labels.has('other')).toBe(true);
      expect(labels.has(`Op${MAX_OPERATION_LABELS + 19}`)).toBe(false);
    } finally {
      await fresh.stop();
    }
  });

  it('counts the trash at most every METRICS_TRASH_REFRESH_SECONDS, concurrent scrapes sharing one count', async () => {
    const counter = createStatementCounter();
    const cached = await startTestServer({ logger: counter.logger, config: { metricsAccess: { port: undefined, token: undefined, trashRefreshSeconds: 3600 } } });
    try {
      const metricsUrl = cached.url.replace(/\/graphql$/, '/metrics');
      const trashCounts = () => counter.statements().filter((statement) => statement.includes('"row_counts"') && statement.includes('trashed'));
      counter.reset();
      const scrapes = await Promise.all(Array.from({ length: 10 }, () => metricsText(metricsUrl)));
      expect(trashCounts()).toHaveLength(2);
      expect(scrapes.every((text) => /trash_items\{type="User"\} 0/.test(text))).toBe(true);
      await deleteUser(cached, (await createUser(cached)).id);
      counter.reset();
      expect(await metricsText(metricsUrl)).toMatch(/trash_items\{type="User"\} 0/);
      expect(trashCounts()).toHaveLength(0);
    } finally {
      await cached.stop();
    }
  });

  it('METRICS_PORT serves /metrics on its own port only; METRICS_TOKEN requires the bearer token', async () => {
    const token = 'metrics-token-0123456789';
    const separate = await startTestServer({ config: { metricsAccess: { port: 0, token, trashRefreshSeconds: 30 } } });
    try {
      const metricsUrl = separate.app.metricsUrl!;
      expect(new URL(metricsUrl).port).not.toBe(new URL(separate.url).port);
      expect((await fetch(separate.url.replace(/\/graphql$/, '/metrics'))).status).toBe(404);
      for (const authorization of [undefined, 'Bearer wrong', token]) {
        const refused = await fetch(metricsUrl, { headers: authorization ? { authorization } : {} });
        expect(refused.status).toBe(401);
        expect(await refused.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      const allowed = await fetch(metricsUrl, { headers: { authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toMatch(/graphql_requests_total|process_cpu_user_seconds_total/);
      expect((await fetch(metricsUrl.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
    } finally {
      await separate.stop();
    }
  });
});

async function createAndTrash() {
  const user = await createUser(server);
  await deleteUser(server, user.id);
  return user;
}

describe('logs', () => {
  it('one line per GraphQL request: request id, operation name, duration, status and error codes', async () => {
    await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-check-1', authorization: await adminAuthorization() },
      body: JSON.stringify({ query: 'mutation Broken { deleteUser(id: "nope") { id } }' }),
    });
    const line = logLines().find((entry) => entry.msg === 'graphql request' && entry.requestId === 'log-check-1');
    expect(line).toMatchObject({ level: 30, operation: 'Broken', errorCodes: ['NOT_FOUND'], statusCode: 200 });
    expect(line!.durationMs).toBeTypeOf('number');
  });

  it('a request refused for its token is logged with UNAUTHENTICATED', async () => {
    await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-check-2', authorization: 'Bearer nonsense' },
      body: JSON.stringify({ query: '{ users { totalCount } }' }),
    });
    const line = logLines().find((entry) => entry.requestId === 'log-check-2');
    expect(line).toMatchObject({ statusCode: 401, errorCodes: ['UNAUTHENTICATED'] });
  });

  it('one line per trash, restore and purge with ids and counts', async () => {
    const user = await createUser(server);
    const post = await server.gql(`mutation($a: ID!) { createPost(input: { authorId: $a, title: "logged", body: "" }) { id } }`, { a: user.id });
    await deleteUser(server, user.id, 'cleanup');
    await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: user.id });
    await deleteUser(server, user.id);
    await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id });
    const lines = logLines().filter((entry) => entry.ids?.includes(user.id));
    expect(lines.map((entry) => [entry.msg, entry.action, entry.entityType, entry.affected])).toEqual([
      ['trash delete', 'DELETE', 'User', 2],
      ['trash restore', 'RESTORE', 'User', 2],
      ['trash delete', 'DELETE', 'User', 2],
      ['trash purge', 'PURGE', 'User', 2],
    ]);
    expect(lines[0].deletionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(post.data.createPost.id).toBeDefined();
  });

  it('never contains tokens or email addresses', async () => {
    await createUser(server, { email: 'secret.person@example.com' });
    const everything = logText.join('');
    expect(everything).not.toMatch(/secret\.person@example\.com/);
    expect(everything).not.toMatch(/Bearer|eyJhbGciOi/);
  });
});
