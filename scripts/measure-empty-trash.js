#!/usr/bin/env node
'use strict';
/**
 * Measures what emptying a large trash does to concurrent reads. On a throwaway embedded
 * PostgreSQL (fsync off, as the benchmark's), starts the built server as `npm start` would
 * (production, logs off), seeds --users trashed users with --posts posts each (trashed with
 * them) plus --live live users, then: reads `users(first: 50)` from --readers concurrent clients
 * for --baseline seconds; then keeps reading while an admin calls emptyTrashStep until nothing
 * remains. Prints one JSON object: read p50/p99 before and during, and the calls' durations.
 *
 * Usage: npm run build && node scripts/measure-empty-trash.js [--users 80000] [--posts 5]
 *        [--live 20000] [--readers 8] [--baseline 10] [--max-records N (EMPTY_TRASH_MAX_RECORDS)]
 */
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const pg = require('pg');
const pino = require('pino');

const root = path.resolve(__dirname, '..');
const { startEmbeddedPostgres, findFreePort } = require(path.join(root, 'dist', 'db', 'embedded-postgres.js'));
const { signToken } = require(path.join(root, 'dist', 'auth', 'token-signer.js'));

const { values: options } = parseArgs({
  options: {
    users: { type: 'string', default: '80000' },
    posts: { type: 'string', default: '5' },
    live: { type: 'string', default: '20000' },
    readers: { type: 'string', default: '8' },
    baseline: { type: 'string', default: '10' },
    'max-records': { type: 'string' },
  },
});
const trashedUsers = Number(options.users);
const postsPerUser = Number(options.posts);

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

function summary(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { requests: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

async function seed(client) {
  const total = trashedUsers + Number(options.live);
  await client.query(
    `insert into users (id, created_at, updated_at, version, username, email, deleted_at, deletion_id)
     select gen_random_uuid(), now() - make_interval(secs => i), now(), case when i <= $1 then 2 else 1 end,
            'user_' || i, 'user_' || i || '@example.com',
            case when i <= $1 then now() - interval '1 hour' end, case when i <= $1 then gen_random_uuid() end
       from generate_series(1, $2::int) as i`,
    [trashedUsers, total],
  );
  await client.query(
    `insert into posts (id, created_at, updated_at, version, author_id, title, body, deleted_at, deletion_id)
     select gen_random_uuid(), u.created_at, u.updated_at, u.version, u.id, 'post ' || p, repeat('text ', 40), u.deleted_at, u.deletion_id
       from users u cross join generate_series(1, $1::int) as p`,
    [postsPerUser],
  );
  await client.query('vacuum analyze users');
  await client.query('vacuum analyze posts');
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'trash-graphql-measure-'));
  const postgres = await startEmbeddedPostgres({ dataDir, durable: false, logger: pino({ level: 'warn' }) });
  let server;
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('create database trash_measure');
    await admin.end();
    const databaseUrl = postgres.url.replace(/\/postgres$/, '/trash_measure');
    const secret = randomBytes(32).toString('hex');
    const port = await findFreePort();
    const env = {
      PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'silent', PORT: String(port), DATABASE_URL: databaseUrl,
      JWT_SECRET: secret, PURGE_INTERVAL_SECONDS: '86400',
      ...(options['max-records'] ? { EMPTY_TRASH_MAX_RECORDS: options['max-records'] } : {}),
    };
    server = spawn(process.execPath, [path.join(root, 'dist', 'main.js')], { cwd: dataDir, env, stdio: 'inherit' });
    const base = `http://127.0.0.1:${port}`;
    for (let ready = false; !ready; await new Promise((resolve) => setTimeout(resolve, 250))) {
      ready = (await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) === 200;
    }
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const seedStarted = Date.now();
    await seed(client);
    await client.end();
    process.stderr.write(`seeded ${trashedUsers} trashed users with ${postsPerUser} posts each in ${((Date.now() - seedStarted) / 1000).toFixed(0)} s\n`);

    const token = await signToken(secret, { role: 'admin', sub: '00000000-0000-7000-8000-00000000ad01' }, '1h');
    const post = async (query, authorization) => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization: `Bearer ${authorization}` } : {}) },
        body: JSON.stringify({ query }),
      });
      const body = await response.json();
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };

    let phase = 'baseline';
    const latencies = { baseline: [], during: [] };
    let reading = true;
    const readers = Array.from({ length: Number(options.readers) }, async () => {
      while (reading) {
        const started = performance.now();
        await post('{ users(first: 50) { nodes { id username } } }');
        if (phase !== 'idle') latencies[phase].push(performance.now() - started);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, Number(options.baseline) * 1000));
    phase = 'during';
    const calls = [];
    const emptyStarted = performance.now();
    for (;;) {
      const started = performance.now();
      const { emptyTrashStep } = await post('mutation { emptyTrashStep { removedRows remainingRows } }', token);
      calls.push({ ms: performance.now() - started, ...emptyTrashStep });
      if (emptyTrashStep.remainingRows === 0) break;
    }
    const emptySeconds = (performance.now() - emptyStarted) / 1000;
    phase = 'idle';
    reading = false;
    await Promise.all(readers);
    const callMs = calls.map((call) => call.ms).sort((a, b) => a - b);
    console.log(
      JSON.stringify(
        {
          dataset: { trashedUsers, postsPerUser, trashedRows: trashedUsers * (1 + postsPerUser), liveUsers: Number(options.live) },
          readers: Number(options.readers),
          readsBefore: summary(latencies.baseline),
          readsDuringEmptyTrash: summary(latencies.during),
          emptyTrash: {
            calls: calls.length,
            rowsRemoved: calls.reduce((sum, call) => sum + call.removedRows, 0),
            seconds: Math.round(emptySeconds * 10) / 10,
            callP50Ms: percentile(callMs, 50),
            callMaxMs: Math.round(callMs.at(-1)),
          },
          node: process.version,
          cpus: os.cpus().length,
        },
        null,
        2,
      ),
    );
  } finally {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    await postgres.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
