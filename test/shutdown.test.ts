import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { adminAuthorization, TEST_JWT_SECRET } from './helpers/auth';
import { createTestDatabase } from './helpers/database';

/**
 * The real server, started as `npm start` starts it (`node dist/main.js`, on
 * its own embedded PostgreSQL), stopped by a signal while requests are in flight.
 */
interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  url: URL;
  dataDir: string;
  logs: string[];
  exited: Promise<number | null>;
}

const started: RunningServer[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    await server.exited;
    await rm(server.dataDir, { recursive: true, force: true });
  }
});

async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trash-graphql-shutdown-'));
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, NODE_ENV: 'development', PORT: '0', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', ...env },
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${logs.join('')}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      logs.push(chunk.toString());
      const ready = /"url":"([^"]+)".*GraphQL server ready/.exec(logs.join(''));
      if (ready) {
        clearTimeout(timer);
        resolve(new URL(ready[1]));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.on('exit', () => reject(new Error(`server exited: ${logs.join('')}`)));
  });
  const server = { child, url, dataDir, logs, exited };
  started.push(server);
  return server;
}

/** A request whose body arrives in two parts: in flight until `finish` sends the rest. */
function requestInTwoParts(url: URL, authorization: string, body: string) {
  const half = Math.floor(body.length / 2);
  let finish!: () => void;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization },
    });
    request.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.write(body.slice(0, half));
    finish = () => request.end(body.slice(half));
  });
  return { response, finish: () => finish() };
}

function postgresProcessesOn(dataDir: string): string[] {
  const listing = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return listing.split('\n').filter((line) => line.includes(path.join(dataDir, 'pgdata')));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}

describe('graceful shutdown of the real server', () => {
  it('on SIGTERM lets in-flight requests finish, then exits 0 leaving no PostgreSQL process behind', async () => {
    const server = await startServer();
    expect(postgresProcessesOn(server.dataDir).length).toBeGreaterThan(0);
    const authorization = await adminAuthorization();
    const inFlight = [1, 2, 3].map((i) =>
      requestInTwoParts(server.url, authorization, JSON.stringify({ query: `mutation { createUser(input: { username: "inflight_${i}", email: "inflight_${i}@example.com" }) { id username } }` })),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const request of inFlight) request.finish();

    const responses = await Promise.all(inFlight.map((request) => request.response));
    for (const [i, response] of responses.entries()) {
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body).data.createUser.username).toBe(`inflight_${i + 1}`);
    }
    expect(await server.exited).toBe(0);
    expect(postgresProcessesOn(server.dataDir)).toEqual([]);
    expect(server.logs.join('')).toMatch(/shutting down/);
  });

  it('refuses new connections once shutdown has begun', async () => {
    const server = await startServer();
    const authorization = await adminAuthorization();
    const held = requestInTwoParts(server.url, authorization, JSON.stringify({ query: '{ users { totalCount } }' }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ users { totalCount } }"}' })).rejects.toThrow();
    held.finish();
    expect((await held.response).status).toBe(200);
    expect(await server.exited).toBe(0);
  });

  it('cuts off requests still running after SHUTDOWN_GRACE_MS and still exits 0', async () => {
    const server = await startServer({ SHUTDOWN_GRACE_MS: '500' });
    const authorization = await adminAuthorization();
    const stuck = requestInTwoParts(server.url, authorization, JSON.stringify({ query: '{ users { totalCount } }' }));
    stuck.response.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(8000);
    expect(postgresProcessesOn(server.dataDir)).toEqual([]);
  });

  it('a second signal exits at once, and the embedded PostgreSQL still stops', async () => {
    const server = await startServer({ SHUTDOWN_GRACE_MS: '60000' });
    const authorization = await adminAuthorization();
    const stuck = requestInTwoParts(server.url, authorization, JSON.stringify({ query: '{ users { totalCount } }' }));
    stuck.response.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const secondAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(1);
    expect(Date.now() - secondAt).toBeLessThan(2000);
    expect(await waitUntil(() => postgresProcessesOn(server.dataDir).length === 0, 10_000)).toBe(true);
  });

  it('a write still running when the grace period ends is rolled back, never committed later, and the process exits within grace + 1 s', async () => {
    const database = await createTestDatabase();
    const holder = new pg.Client({ connectionString: database.url });
    try {
      const server = await startServer({ DATABASE_URL: database.url, SHUTDOWN_GRACE_MS: '1000' });
      const authorization = await adminAuthorization();
      const created = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: 'mutation { createUser(input: { username: "late_writer", email: "late@example.com" }) { id } }' }),
      });
      const userId = ((await created.json()) as { data: { createUser: { id: string } } }).data.createUser.id;

      // Another transaction holds the row, so the server's update waits inside its own transaction.
      await holder.connect();
      await holder.query('begin');
      await holder.query('select id from users where id = $1 for update', [userId]);
      const update = fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query: `mutation { updateUser(id: "${userId}", input: { displayName: "written after the cut" }) { version } }` }),
      }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const signalledAt = Date.now();
      server.child.kill('SIGTERM');

      // The lock goes away just after the grace period: a write left running would now commit.
      await new Promise((resolve) => setTimeout(resolve, 1300));
      await holder.query('commit');
      const exitCode = await server.exited;
      const exitedAfterMs = Date.now() - signalledAt;
      await update;
      expect(exitCode).toBe(0);
      expect(exitedAfterMs).toBeLessThan(1000 + 1000);

      await new Promise((resolve) => setTimeout(resolve, 300));
      const { rows } = await holder.query('select display_name, version from users where id = $1', [userId]);
      expect(rows).toEqual([{ display_name: null, version: 1 }]);
      const events = await holder.query(`select count(*)::int as n from audit_events where entity_id = $1 and action = 'UPDATE'`, [userId]);
      expect(events.rows[0].n).toBe(0);
      expect(server.logs.join('')).toMatch(/rolling back their transactions/);
    } finally {
      await holder.end().catch(() => undefined);
      await database.drop();
    }
  });
});
