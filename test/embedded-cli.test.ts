import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization, TEST_JWT_SECRET } from './helpers/auth';

/**
 * `npm start` on the embedded PostgreSQL, then `npm run seed` and `npm run purge` in another
 * terminal, as a newcomer following the README does: the tools must use the running cluster.
 */
const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
let dataDir: string;
let server: ChildProcessWithoutNullStreams;
let exited: Promise<number | null>;
let url: URL;

/** Only what the commands need; DATABASE_URL is left out on purpose, so they use DATA_DIR's embedded cluster. */
const environment = () => ({ PATH: process.env.PATH, NODE_ENV: 'development', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'warn' });

function startServer(): { child: ChildProcessWithoutNullStreams; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: root, env: { ...environment(), PORT: '0', LOG_LEVEL: 'info' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => output };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trash-graphql-cli-'));
  const started = startServer();
  server = started.child;
  exited = started.exited;
  for (const deadline = Date.now() + 90_000; Date.now() < deadline && server.exitCode === null; ) {
    const ready = /"url":"([^"]+)".*GraphQL server ready/.exec(started.output());
    if (ready) {
      url = new URL(ready[1]);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not start: ${started.output()}`);
});

afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await exited;
  await rm(dataDir, { recursive: true, force: true });
});

async function graphql(query: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: await adminAuthorization() },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data: any; errors?: unknown[] };
}

describe('command-line tools while the server runs on the embedded PostgreSQL', () => {
  it('npm run seed uses the running cluster: the server sees the seeded users', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/seed.js'], { cwd: root, env: environment() });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(result.created.users).toBeGreaterThan(0);
    const { data } = await graphql('{ users(first: 1, includeDeleted: true) { totalCount } }');
    expect(data.users.totalCount).toBe(result.database.users);
  });

  it('npm run purge uses it too, and leaves it running for the server', async () => {
    const { stdout } = await run(process.execPath, ['dist/cli/purge.js'], { cwd: root, env: environment() });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toMatchObject({ skipped: false });
    expect((await fetch(new URL('/readyz', url))).status).toBe(200);
    const { data } = await graphql('{ users(first: 1) { totalCount } }');
    expect(data.users.totalCount).toBeGreaterThan(0);
  });

  it('a second server on the same DATA_DIR stops with one line saying what to do, and the first keeps serving', async () => {
    const second = startServer();
    expect(await second.exited).toBe(1);
    const lines = second.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATA_DIR .* is in use.*Stop that server, or set another DATA_DIR or DATABASE_URL/);
    expect((await fetch(new URL('/readyz', url))).status).toBe(200);
  });

  it('the server still stops cleanly afterwards', async () => {
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
