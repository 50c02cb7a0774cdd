import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../src/db/embedded-postgres';
import { TEST_JWT_SECRET } from './helpers/auth';
import { createTestDatabase, type TestDatabase } from './helpers/database';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';

/**
 * The real server (`node dist/main.js`) started while its database is down:
 * nothing listening, or black-holed (TCP accepted, never answered).
 */
interface Started {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stdout: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; at: number }>;
  startedAt: number;
}

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(databaseUrl: string, env: Record<string, string>): Promise<Started> {
  const port = await findFreePort();
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: path.resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, port, stdout, stderr, exited, startedAt };
}

/** Polls until the server's port answers (the probes come up before the database is reached). */
async function get(port: number, route: string): Promise<{ status: number; body: any; retryAfter: string | null }> {
  // Generous: starting node on a loaded machine can take seconds before the probes listen.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${route}`, route === '/graphql' ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' } : {});
      return { status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after') };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function attemptLines(server: Started): Array<Record<string, any>> {
  return server.stdout
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((line) => line.attempt !== undefined);
}

async function blackHole(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    // Accepted, and never answered.
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('starting while the database is down', () => {
  const cases: Array<[string, () => Promise<number>, RegExp]> = [
    ['nothing listens on its port', () => findFreePort(), /ECONNREFUSED/],
    ['its address accepts connections and never answers', blackHole, /timeout/i],
  ];

  it.each(cases)('%s: retries with one line per attempt, serves /healthz 200 and /readyz 503, then exits 1 with one line', async (_kind, databasePort, cause) => {
    const port = await databasePort();
    const server = await startServer(`postgres://app:secret@127.0.0.1:${port}/app`, { DB_CONNECT_TIMEOUT_S: '4' });

    expect(await get(server.port, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get(server.port, '/readyz')).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    const graphql = await get(server.port, '/graphql');
    expect(graphql).toMatchObject({ status: 503, body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] } });
    expect(graphql.retryAfter).toMatch(/^\d+$/);

    const { code, at } = await server.exited;
    expect(code).toBe(1);
    const attempts = attemptLines(server);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    for (const line of attempts) {
      expect(line).toMatchObject({ level: 40, database: `127.0.0.1:${port}`, cause: expect.stringMatching(cause) });
      expect(line.msg).toContain(`127.0.0.1:${port}`);
      expect(JSON.stringify(line)).not.toContain('secret');
    }
    expect(attempts.at(-1)!.msg).toMatch(/giving up$/);
    // Retried for the whole deadline (the first line comes after the first attempt), then stopped at once.
    expect(attempts.at(-1)!.time - attempts[0].time).toBeGreaterThanOrEqual(4000 - 3000);
    expect(at - attempts[0].time).toBeLessThan(4000 + 2000);
    expect(at - server.startedAt).toBeGreaterThanOrEqual(4000);
    const stderr = server.stderr.join('').trim();
    expect(stderr.split('\n')).toHaveLength(1);
    expect(stderr).toMatch(new RegExp(`^Database at 127\\.0\\.0\\.1:${port} not reachable after 4 s .*giving up`));
  });

  it('becomes ready on the same port as soon as the database is back', async () => {
    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());
    const proxy: FaultProxy = await startFaultProxy(database.url);
    cleanups.push(() => proxy.close());
    proxy.refuse();
    const server = await startServer(proxy.url, { DB_CONNECT_TIMEOUT_S: '60' });

    expect((await get(server.port, '/readyz')).status).toBe(503);
    const deadline = Date.now() + 15_000;
    while (attemptLines(server).length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(attemptLines(server).length).toBeGreaterThanOrEqual(2);
    proxy.heal();

    let ready = await get(server.port, '/readyz');
    while (ready.status !== 200 && Date.now() < deadline + 15_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ready = await get(server.port, '/readyz');
    }
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });
    const answer = await get(server.port, '/graphql');
    expect(answer).toMatchObject({ status: 200, body: { data: { __typename: 'Query' } } });
    expect(server.child.exitCode).toBeNull();
  });
});
