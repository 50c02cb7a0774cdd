import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs as parseCommandLine } from 'node:util';
import pg from 'pg';
import { calibrate, type Calibration } from './calibrate';
import { createDatabase, databaseExists, databaseUrl, dropDatabase, enableStatStatements, openBenchServer, withClient } from './database';
import { runLoad, type Target } from './load';
import { BENCH_ADMIN_ID, BENCH_JWT_SECRET, benchDistDir, DEFAULT_DATABASE_NAME, repoRoot, requireDist } from './paths';
import { cpuMsOf, databaseCpuMsOf, memoryOf, runNodeJson, sampleRss, startAppServer, startFloor, type ChildServer } from './processes';
import { summariseAllocations, type AllocationSummary } from './allocations';
import { takeHeapSnapshot, type HeapSummary } from './heap-snapshot';
import { summariseProfile, type ProfileSummary } from './profile';
import { promisesCreated } from './promise-counter';
import { evaluateTargets, printReport } from './report';
import type { BenchRun, Measurement, PurgeResult, ScenarioResult, Targets, TargetSummary } from './results';
import { scenarios as allScenarios, type Scenario, type ScenarioInputs } from './scenarios';
import { expectedTrashedUsers, markerMatches, readMarker, repairDataset, reseedUsers, restoreBenchDeletions, seedDataset, type DatasetMarker } from './seed';

export interface BenchOptions {
  /** Users in the dataset (each with 5 posts). */
  scale: number;
  /** Share of users in the trash, 0 to 1. */
  trashed: number;
  /** Seconds of load per measurement. */
  duration: number;
  /** Seconds of unmeasured load before each measurement. */
  warmup: number;
  rounds: number;
  connections: number;
  /** External server (superuser URL of any database on it); unset: embedded PostgreSQL under dataDir. */
  databaseUrl?: string;
  databaseName: string;
  dataDir: string;
  resultsFile: string;
  /** Trashed users made due and purged per round of scenario 8 (default: min(5,000, a third of the trashed users)). */
  purgeUsers?: number;
  purgeBatchSize: number;
  /** Only these scenario keys (prefix match, e.g. "s1,s3"); purge is "s8". */
  only?: string[];
  /** node --cpu-prof on the measured server; the profile is summarised in the results. */
  profile: boolean;
  /** A heap snapshot of the measured server after each round, summarised in the results (it inflates the RSS figures). */
  heapSnapshot: boolean;
  /** V8's sampling heap profiler on the measured server, freed objects included: where it allocates. */
  allocProfile: boolean;
  /** Count the promises the measured server creates per request (an async hook: it slows the server). */
  countPromises: boolean;
  /** Another Node binary for the measured server (e.g. to compare releases); the floor keeps the benchmark's. */
  serverNode?: string;
  progress: boolean;
  /** Progress lines (stderr by default). */
  log: (line: string) => void;
  /** The report (stdout by default). */
  print: (line: string) => void;
}

export function defaultOptions(): BenchOptions {
  return {
    scale: 1_000_000,
    trashed: 0.3,
    duration: 5,
    warmup: 1,
    rounds: 3,
    connections: 8,
    databaseUrl: process.env.DATABASE_URL || undefined,
    databaseName: DEFAULT_DATABASE_NAME,
    dataDir: path.join(repoRoot, '.data', 'bench'),
    resultsFile: path.join(repoRoot, 'bench', 'results.json'),
    purgeBatchSize: 1000,
    profile: false,
    heapSnapshot: false,
    allocProfile: false,
    countPromises: false,
    progress: process.stderr.isTTY === true,
    log: (line) => console.error(line),
    print: (line) => console.log(line),
  };
}

const USAGE = `usage: npm run bench -- [--scale 1000000] [--trashed 0.3] [--duration 5] [--warmup 1] [--rounds 3]
       [--connections 8] [--purge-users N] [--only s1,s3,s8] [--profile] [--heap-snapshot]
       [--alloc-profile] [--count-promises] [--server-node /path/to/node] [--results bench/results.json]
       [--database trash_graphql_bench]`;

/** Options given as strings on the command line, checked and converted below. */
const FLAGS = {
  scale: { type: 'string' },
  trashed: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  rounds: { type: 'string' },
  connections: { type: 'string' },
  'purge-users': { type: 'string' },
  only: { type: 'string' },
  database: { type: 'string' },
  profile: { type: 'boolean' },
  'heap-snapshot': { type: 'boolean' },
  'alloc-profile': { type: 'boolean' },
  'count-promises': { type: 'boolean' },
  'server-node': { type: 'string' },
  results: { type: 'string' },
  help: { type: 'boolean' },
} as const;

export function parseArgs(argv: readonly string[], base: BenchOptions = defaultOptions()): BenchOptions {
  let values: ReturnType<typeof parseCommandLine<{ args: string[]; options: typeof FLAGS; strict: true }>>['values'];
  try {
    ({ values } = parseCommandLine({ args: [...argv], options: FLAGS, strict: true }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new Error(USAGE);
  const number = (flag: keyof typeof FLAGS, min: number, max: number) => {
    const parsed = Number(values[flag]);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) throw new Error(`--${flag} must be a number from ${min} to ${max}\n${USAGE}`);
    return parsed;
  };
  const options = { ...base };
  if (values.scale !== undefined) options.scale = Math.round(number('scale', 100, 100_000_000));
  if (values.trashed !== undefined) options.trashed = number('trashed', 0, 0.99);
  if (values.duration !== undefined) options.duration = number('duration', 0.2, 3600);
  if (values.warmup !== undefined) options.warmup = number('warmup', 0, 600);
  if (values.rounds !== undefined) options.rounds = Math.round(number('rounds', 1, 100));
  if (values.connections !== undefined) options.connections = Math.round(number('connections', 1, 1000));
  if (values['purge-users'] !== undefined) options.purgeUsers = Math.round(number('purge-users', 0, 10_000_000));
  if (values.only !== undefined) options.only = values.only.split(',').map((key) => key.trim()).filter(Boolean);
  if (values.database !== undefined) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(values.database)) throw new Error(`--database must be a plain lower-case PostgreSQL name\n${USAGE}`);
    options.databaseName = values.database;
  }
  if (values.profile) options.profile = true;
  if (values['heap-snapshot']) options.heapSnapshot = true;
  if (values['alloc-profile']) options.allocProfile = true;
  if (values['count-promises']) options.countPromises = true;
  // Both ask the server through SIGUSR2.
  if (options.countPromises && options.heapSnapshot) throw new Error(`--count-promises and --heap-snapshot cannot be combined\n${USAGE}`);
  if (values.results !== undefined) options.resultsFile = path.resolve(values.results);
  if (values['server-node'] !== undefined) {
    if (!existsSync(values['server-node'])) throw new Error(`--server-node: no such file ${values['server-node']}\n${USAGE}`);
    options.serverNode = path.resolve(values['server-node']);
  }
  return options;
}

function median(values: number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const middle = Math.floor(finite.length / 2);
  return finite.length % 2 ? finite[middle] : (finite[middle - 1] + finite[middle]) / 2;
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Statements the database ran for the bench database since the last reset, without pg_stat_statements' own. */
async function statementCalls(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ calls: string }>(
    `select coalesce(sum(s.calls), 0) as calls
       from pg_stat_statements s join pg_database d on d.oid = s.dbid
      where d.datname = $1 and s.query not ilike '%pg_stat_statements%' and s.query not ilike '%pg_stat_activity%'`,
    [database],
  );
  return Number(rows[0].calls);
}

/** Waits until no other session runs a statement on the bench database, twice in a row 100 ms apart (at most 10 s). */
async function quiesce(client: pg.Client, database: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let quiet = 0;
  while (quiet < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { rows } = await client.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity where datname = $1 and state <> 'idle' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
      [database],
    );
    quiet = Number(rows[0].n) === 0 ? quiet + 1 : 0;
  }
}

async function frequentStatements(client: pg.Client, database: string): Promise<Array<{ calls: number; query: string }>> {
  const { rows } = await client.query<{ calls: string; query: string }>(
    `select s.calls, s.query from pg_stat_statements s join pg_database d on d.oid = s.dbid
      where d.datname = $1 and s.query not ilike '%pg_stat_statements%' and s.query not ilike '%pg_stat_activity%' order by s.calls desc limit 8`,
    [database],
  );
  return rows.map((row) => ({ calls: Number(row.calls), query: row.query.replace(/\s+/g, ' ').slice(0, 200) }));
}

export async function scenarioInputs(client: pg.Client, live: number): Promise<ScenarioInputs> {
  const depth = Math.min(20_000, Math.max(1, Math.floor(live / 2)));
  const { rows: deep } = await client.query<{ created_at: Date; id: string }>(
    `select created_at, id from users where deleted_at is null order by created_at desc, id desc offset $1 limit 1`,
    [depth - 1],
  );
  const { encodeCursor } = requireDist<{ encodeCursor(order: { name: string }, cursor: { sortValue: Date; id: string }): string }>('graphql/cursor.js');
  const { trashOrder } = requireDist<{ trashOrder(visibility: 'live'): { name: string } }>('trash/trash-listing.js');
  const deepCursor = encodeCursor(trashOrder('live'), { sortValue: deep[0].created_at, id: deep[0].id });
  // Spread over the whole table: a fixed sample, so every run reads the same users.
  const { rows: ids } = await client.query<{ id: string }>(
    `select id from users where deleted_at is null and abs(hashtext(id::text)) % $1 = 0 limit 10000`,
    [Math.max(1, Math.floor(live / 10_000))],
  );
  // The oldest live users whose five posts are all live (every fifth user has one trashed alone).
  const { rows: pool } = await client.query<{ id: string }>(
    `select u.id from users u
      where u.deleted_at is null
        and not exists (select 1 from posts p where p.author_id = u.id and p.deleted_at is not null)
      order by u.created_at asc limit 2000`,
  );
  // The first digits of a trashed user's number: it matches that user, users whose numbers contain them, and posts
  // titled after them ("Post k by user_<n>"), in and out of the trash. A fixed choice, so every run searches the same.
  const { rows: sample } = await client.query<{ username: string }>(
    `select username from users where deleted_at is not null and length(username) >= 8 order by created_at desc, id desc offset $1 limit 1`,
    [Math.floor(live / 20)],
  );
  const searchTerm = sample[0]?.username.slice('user_'.length, 'user_'.length + 4) ?? '123';
  return { deepCursor, depth, userIds: ids.map((row) => row.id), writePool: pool.map((row) => row.id), searchTerm };
}

/** Users the write scenario left in the trash (a delete whose restore the end of a measurement cut off). */
function restoreWriteLeftovers(client: pg.Client, marker: DatasetMarker): Promise<number> {
  return restoreBenchDeletions(client, marker);
}

const PURGE_CLOCK = new Date('2001-01-01T00:00:00.000Z');
const PURGE_DUE = new Date('2000-12-31T00:00:00.000Z');

/** Makes the oldest `count` trashed users (and so their posts) due at PURGE_CLOCK; returns them with the rows that will go. */
async function makeDue(client: pg.Client, marker: DatasetMarker, count: number): Promise<{ indexes: number[]; rows: number }> {
  const { rows } = await client.query<{ id: string; i: number }>(
    `select id, substring(username from 6)::int as i from users where deleted_at is not null and deleted_at <= $1 order by created_at limit $2`,
    [marker.seededAt, count],
  );
  const ids = rows.map((row) => row.id);
  await client.query('update users set purge_at = $1 where id = any($2::uuid[])', [PURGE_DUE, ids]);
  const { rows: posts } = await client.query<{ n: string }>('select count(*) as n from posts where author_id = any($1::uuid[])', [ids]);
  return { indexes: rows.map((row) => row.i), rows: ids.length + Number(posts[0].n) };
}

/**
 * The floor of a purge pass: per batch one statement that locks the due users
 * (SKIP LOCKED), deletes their posts and them, and writes their audit events;
 * then the same for posts due on their own.
 */
async function floorPurge(url: string, batchSize: number): Promise<{ removed: number; seconds: number }> {
  return withClient(url, async (client) => {
    const started = process.hrtime.bigint();
    let removed = 0;
    for (;;) {
      await client.query('begin');
      const { rows } = await client.query<{ records: number; removed: number }>(
        `with due as (
           select id, deletion_id from users where deleted_at is not null and purge_at <= $1 order by purge_at limit $2 for update skip locked
         ), dp as (
           delete from posts p using due where p.author_id = due.id returning p.author_id
         ), du as (
           delete from users u using due where u.id = due.id returning u.id, u.deletion_id
         ), c as (
           select author_id, count(*) as n from dp group by author_id
         ), ins as (
           insert into audit_events (id, action, entity_type, entity_id, deletion_id, actor_id, reason, affected, at)
           select gen_random_uuid(), 'PURGE', 'User', du.id, du.deletion_id, null, null, 1 + coalesce(c.n, 0), $1
             from du left join c on c.author_id = du.id
           returning affected
         )
         select count(*)::int as records, coalesce(sum(affected), 0)::int as removed from ins`,
        [PURGE_CLOCK, batchSize],
      );
      await client.query('commit');
      removed += rows[0].removed;
      if (rows[0].records < batchSize) break;
    }
    for (;;) {
      const { rows } = await client.query<{ records: number }>(
        `with due as (
           select id, deletion_id from posts where deleted_at is not null and purge_at <= $1 order by purge_at limit $2 for update skip locked
         ), dp as (
           delete from posts p using due where p.id = due.id returning p.id, p.deletion_id
         ), ins as (
           insert into audit_events (id, action, entity_type, entity_id, deletion_id, actor_id, reason, affected, at)
           select gen_random_uuid(), 'PURGE', 'Post', dp.id, dp.deletion_id, null, null, 1, $1 from dp returning 1
         )
         select count(*)::int as records from ins`,
        [PURGE_CLOCK, batchSize],
      );
      removed += rows[0].records;
      if (rows[0].records < batchSize) break;
    }
    return { removed, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  });
}

function machineInfo(postgres: string, source: string, serverNode?: string): BenchRun['machine'] {
  // With --server-node, the server's release first, then the benchmark's (which the floor runs on).
  const node = serverNode ? `${execFileSync(serverNode, ['--version'], { encoding: 'utf8' }).trim()} (server; floor ${process.version})` : process.version;
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()}`,
    node,
    postgres,
    postgresSource: source,
  };
}

function summarise(rounds: Measurement[], logged: number): TargetSummary {
  const perRequest = rounds.map((m) => m.statementsPerRequest).filter((value): value is number => value !== null);
  return {
    rps: round(median(rounds.map((m) => m.rps)), 1),
    cpuMsPerRequest: rounds.some((m) => m.cpuMsPerRequest === null) ? null : round(median(rounds.map((m) => m.cpuMsPerRequest!)), 3),
    databaseCpuMsPerRequest: rounds.some((m) => m.databaseCpuMsPerRequest == null) ? null : round(median(rounds.map((m) => m.databaseCpuMsPerRequest!)), 3),
    ...(rounds.every((m) => m.promisesPerRequest !== undefined) ? { promisesPerRequest: round(median(rounds.map((m) => m.promisesPerRequest!)), 1) } : {}),
    p50: round(median(rounds.map((m) => m.p50))),
    p99: round(median(rounds.map((m) => m.p99))),
    statementsPerRequest: perRequest.length > 0 ? round(median(perRequest)) : null,
    statementsLogged: round(logged),
    rssMb: round(Math.max(...rounds.map((m) => m.rssMb)), 1),
    errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    rounds,
  };
}

function appendResult(file: string, run: BenchRun): BenchRun[] {
  let history: BenchRun[] = [];
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { runs?: BenchRun[] };
      history = Array.isArray(parsed.runs) ? parsed.runs : [];
    } catch {
      history = [];
    }
  }
  history.push(run);
  history = history.slice(-50);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ runs: history }, null, 2)}\n`);
  return history;
}

/**
 * The whole benchmark: dataset (seeded once, then reused), the server and the
 * floor as separate processes, calibration (SQL per request, same answers,
 * EXPLAIN), the measured rounds, the purge scenario, results.json and the table.
 */
export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const log = options.log;
  const selected = (key: string) => !options.only || options.only.some((prefix) => key.startsWith(prefix));
  for (const script of [path.join(repoRoot, 'dist', 'main.js'), path.join(benchDistDir, 'floor.js'), path.join(benchDistDir, 'dist-runner.js')]) {
    if (!existsSync(script)) throw new Error(`${path.relative(repoRoot, script)} is missing: build first (npm run build && npx tsc -p bench), or use npm run bench`);
  }
  const bench = await openBenchServer({ databaseUrl: options.databaseUrl, dataDir: options.dataDir, log });
  const children: ChildServer[] = [];
  let client: pg.Client | undefined;
  try {
    const url = databaseUrl(bench.adminUrl, options.databaseName);
    const spec = { scale: options.scale, trashed: options.trashed };
    let marker: DatasetMarker | undefined;
    if (await databaseExists(bench.adminUrl, options.databaseName)) {
      await runNodeJson(path.join(benchDistDir, 'dist-runner.js'), ['migrate'], { BENCH_DATABASE_URL: url });
      marker = await withClient(url, async (c) => {
        const found = await readMarker(c);
        return markerMatches(found, spec) && (await repairDataset(c, found)) ? found : undefined;
      });
    }
    const reused = marker !== undefined;
    if (marker) {
      log(`reusing the dataset seeded ${marker.seededAt.toISOString()} (${marker.scale.toLocaleString('en-US')} users, ${marker.trashed * 100}% trashed)`);
      await withClient(url, (c) => c.query('vacuum analyze users, posts, audit_events'));
    } else {
      log(`seeding ${options.databaseName}: ${spec.scale.toLocaleString('en-US')} users (${spec.trashed * 100}% trashed), 5 posts each`);
      await dropDatabase(bench.adminUrl, options.databaseName);
      await createDatabase(bench.adminUrl, options.databaseName);
      await runNodeJson(path.join(benchDistDir, 'dist-runner.js'), ['migrate'], { BENCH_DATABASE_URL: url });
      marker = await withClient(url, (c) => seedDataset(c, spec, { progress: options.progress, log }));
      log(`seeded in ${marker.seedSeconds.toFixed(1)} s`);
    }
    const dataset = marker;
    const statStatements = bench.statStatementsLoaded && (await enableStatStatements(url));
    if (!statStatements) log('pg_stat_statements is not preloaded on this server: statements per request under load are n/a (the SQL log counts still apply)');

    client = new pg.Client({ connectionString: url });
    await client.connect();
    const db = client;
    // The database's CPU is measured where it runs on this machine (the embedded cluster, a local server).
    const backendPid = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
    const databaseCpuMs = () => databaseCpuMsOf(backendPid);
    const live = dataset.scale - expectedTrashedUsers(dataset);
    const inputs = await scenarioInputs(db, live);
    const scenarioList = allScenarios(inputs).filter((scenario) => selected(scenario.key));
    const { signToken } = requireDist<{ signToken(secret: string, claims: { role: string; sub: string }, ttl: string): Promise<string> }>('auth/token-signer.js');
    const authorization = `Bearer ${await signToken(BENCH_JWT_SECRET, { role: 'admin', sub: BENCH_ADMIN_ID }, '12h')}`;

    const floor = await startFloor(url);
    children.push(floor);
    log('calibrating: one request per scenario on a server logging its SQL');
    const traced = await startAppServer({ databaseUrl: url, secret: BENCH_JWT_SECRET, logLevel: 'trace' });
    children.push(traced);
    let calibration: Calibration;
    try {
      calibration = await calibrate({ traced, floor, scenarios: scenarioList, authorization, client: db });
    } finally {
      await traced.stop();
      children.splice(children.indexOf(traced), 1);
    }
    await restoreWriteLeftovers(db, dataset);
    if (calibration.mismatches.length > 0) throw new Error(`the floor answers differently from the server:\n${calibration.mismatches.join('\n')}`);

    const profileDir = path.join(repoRoot, 'bench', 'dist', 'profiles');
    const heapDir = path.join(repoRoot, 'bench', 'dist', 'heap');
    const allocationFile = path.join(repoRoot, 'bench', 'dist', 'allocations.json');
    const promiseCountFile = path.join(repoRoot, 'bench', 'dist', 'promises.json');
    rmSync(promiseCountFile, { force: true });
    rmSync(allocationFile, { force: true });
    // Requests the measured server answered (warm-ups included), for allocations per request.
    let serverRequests = 0;
    if (options.heapSnapshot) mkdirSync(heapDir, { recursive: true });
    if (options.profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    const server = await startAppServer({
      databaseUrl: url,
      secret: BENCH_JWT_SECRET,
      logLevel: 'silent',
      nodeArgs: [
        ...(options.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
        ...(options.heapSnapshot ? ['--heapsnapshot-signal=SIGUSR2', '--diagnostic-dir', heapDir] : []),
        ...(options.allocProfile ? ['--require', path.join(benchDistDir, 'allocation-sampler.js')] : []),
        ...(options.countPromises ? ['--require', path.join(benchDistDir, 'promise-counter.js')] : []),
      ],
      env: {
        ...(options.allocProfile ? { BENCH_ALLOCATION_PROFILE: allocationFile } : {}),
        ...(options.countPromises ? { BENCH_PROMISE_COUNT: promiseCountFile } : {}),
      },
      node: options.serverNode,
    });
    children.push(server);

    const measurements = new Map<string, { server: Measurement[]; floor: Measurement[] }>(scenarioList.map((s) => [s.key, { server: [], floor: [] }]));
    const measure = async (scenario: Scenario, target: Target, roundIndex: number): Promise<Measurement> => {
      const child = target === 'server' ? server : floor;
      const base = { target, baseUrl: target === 'server' ? server.url : floor.url, scenario, authorization: scenario.admin ? authorization : undefined, connections: options.connections };
      if (options.warmup > 0) {
        const warmup = await runLoad({ ...base, seconds: options.warmup });
        if (target === 'server') serverRequests += warmup.requests;
      }
      if (!scenario.readOnly) await restoreWriteLeftovers(db, dataset);
      // Requests the warmup left in flight finish before counting starts.
      await quiesce(db, options.databaseName);
      if (statStatements) await db.query('select pg_stat_statements_reset()');
      const countingPromises = options.countPromises && target === 'server';
      const promisesBefore = countingPromises ? await promisesCreated(server.pid, promiseCountFile) : 0;
      const rss = sampleRss(child.pid);
      const cpuBefore = cpuMsOf(child.pid);
      const databaseBefore = databaseCpuMs();
      const result = await runLoad({ ...base, seconds: options.duration });
      const cpuAfter = cpuMsOf(child.pid);
      const databaseAfter = databaseCpuMs();
      if (target === 'server') serverRequests += result.requests;
      const rssMb = rss.stop();
      // ... and those this measurement left in flight finish before counting ends: they count as sent.
      await quiesce(db, options.databaseName);
      const promisesAfter = countingPromises ? await promisesCreated(server.pid, promiseCountFile) : 0;
      const calls = statStatements ? await statementCalls(db, options.databaseName) : null;
      const topStatements = statStatements ? await frequentStatements(db, options.databaseName) : undefined;
      if (!scenario.readOnly) await restoreWriteLeftovers(db, dataset);
      if (result.errors > 0) throw new Error(`${scenario.key} on the ${target}: ${result.errors} failed requests, e.g. ${result.firstError}`);
      if (result.requests === 0) throw new Error(`${scenario.key} on the ${target}: no request completed in ${options.duration} s`);
      return {
        ...result,
        round: roundIndex,
        statementsPerRequest: calls === null ? null : round(calls / Math.max(result.sent, result.requests)),
        rssMb: round(rssMb, 1),
        cpuMsPerRequest: cpuBefore !== undefined && cpuAfter !== undefined ? round((cpuAfter - cpuBefore) / result.requests, 3) : null,
        databaseCpuMsPerRequest: databaseBefore !== undefined && databaseAfter !== undefined ? round((databaseAfter - databaseBefore) / result.requests, 3) : null,
        // Every request sent has been answered by then (quiesce), so all of them count.
        ...(countingPromises ? { promisesPerRequest: round((promisesAfter - promisesBefore) / Math.max(result.sent, result.requests), 1) } : {}),
        topStatements,
      };
    };

    const serverRssByRound: number[] = [];
    const heapSnapshots: HeapSummary[] = [];
    for (let r = 1; r <= options.rounds; r++) {
      for (const scenario of scenarioList) {
        // Alternate which target goes first, so neither always gets the warmer caches.
        const order: Target[] = r % 2 === 1 ? ['server', 'floor'] : ['floor', 'server'];
        for (const target of order) {
          const m = await measure(scenario, target, r);
          measurements.get(scenario.key)![target].push(m);
          log(
            `round ${r}/${options.rounds} ${scenario.key.padEnd(22)} ${target.padEnd(6)} ${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms` +
              (m.statementsPerRequest !== null ? `  ${m.statementsPerRequest} stmt/req` : '') +
              `  ${m.cpuMsPerRequest ?? 'n/a'} CPU ms/req  DB ${m.databaseCpuMsPerRequest ?? 'n/a'} CPU ms/req  RSS ${m.rssMb} MB` +
              (m.promisesPerRequest !== undefined ? `  ${m.promisesPerRequest} promises/req` : ''),
          );
        }
      }
      // The highest RSS the server reached in this round: growth from round to round would show a leak.
      const roundPeak = Math.max(0, ...scenarioList.map((scenario) => measurements.get(scenario.key)!.server.at(-1)?.rssMb ?? 0));
      serverRssByRound.push(round(roundPeak, 1));
      log(`round ${r}/${options.rounds} server peak RSS ${roundPeak.toFixed(1)} MB`);
      if (options.heapSnapshot) {
        const heap = await takeHeapSnapshot(server.pid, heapDir, r);
        heapSnapshots.push(heap);
        log(`round ${r}/${options.rounds} server live heap ${heap.liveMb} MB (heap snapshot)`);
      }
    }

    let purge: PurgeResult | undefined;
    const trashedUsers = expectedTrashedUsers(dataset);
    const purgeUsers = Math.min(options.purgeUsers ?? Math.min(5000, Math.floor(trashedUsers / 3)), trashedUsers);
    if (selected('s8') && purgeUsers > 0) {
      const serverRuns: Array<{ seconds: number; removed: number; batches: number }> = [];
      const floorRuns: Array<{ seconds: number; removed: number }> = [];
      let rowsPerRound = 0;
      for (let r = 1; r <= options.rounds; r++) {
        for (const target of (r % 2 === 1 ? ['server', 'floor'] : ['floor', 'server']) as Target[]) {
          const due = await makeDue(db, dataset, purgeUsers);
          rowsPerRound = due.rows;
          if (target === 'server') {
            const run = await runNodeJson<{ removed: number; batches: number; seconds: number; skipped: boolean }>(path.join(benchDistDir, 'dist-runner.js'), ['purge'], {
              BENCH_DATABASE_URL: url,
              BENCH_CLOCK: PURGE_CLOCK.toISOString(),
              BENCH_BATCH_SIZE: String(options.purgeBatchSize),
            });
            if (run.skipped) throw new Error('the retention job skipped its pass: another purger held the lock');
            serverRuns.push(run);
            if (run.removed !== due.rows) throw new Error(`the retention job removed ${run.removed} rows, expected ${due.rows}`);
          } else {
            const run = await floorPurge(url, options.purgeBatchSize);
            floorRuns.push(run);
            if (run.removed !== due.rows) throw new Error(`the floor purge removed ${run.removed} rows, expected ${due.rows}`);
          }
          await reseedUsers(db, dataset, due.indexes);
          const last = target === 'server' ? serverRuns.at(-1)! : floorRuns.at(-1)!;
          log(`round ${r}/${options.rounds} ${'s8-purge'.padEnd(22)} ${target.padEnd(6)} ${(last.removed / last.seconds).toFixed(0).padStart(6)} rows/s  (${last.removed} rows in ${last.seconds.toFixed(2)} s)`);
        }
      }
      await db.query('truncate audit_events');
      const serverRate = median(serverRuns.map((run) => run.removed / run.seconds));
      const floorRate = median(floorRuns.map((run) => run.removed / run.seconds));
      purge = {
        usersPerRound: purgeUsers,
        rowsPerRound,
        server: {
          rowsPerSecond: round(serverRate, 0),
          seconds: serverRuns.map((run) => round(run.seconds, 3)),
          removed: serverRuns.map((run) => run.removed),
          batches: serverRuns.map((run) => run.batches),
        },
        floor: { rowsPerSecond: round(floorRate, 0), seconds: floorRuns.map((run) => round(run.seconds, 3)), removed: floorRuns.map((run) => run.removed) },
        ratio: round(serverRate / floorRate),
      };
    }

    const serverPeak = memoryOf(server.pid)?.peakMb ?? NaN;
    const floorPeak = memoryOf(floor.pid)?.peakMb ?? NaN;
    await server.stop();
    children.splice(children.indexOf(server), 1);
    let profile: ProfileSummary | undefined;
    if (options.profile) {
      const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
      if (file) profile = summariseProfile(path.join(profileDir, file));
    }
    let allocations: (AllocationSummary & { kbPerRequest: number }) | undefined;
    if (options.allocProfile) {
      if (!existsSync(allocationFile)) throw new Error('the server wrote no allocation profile');
      const summary = summariseAllocations(allocationFile);
      allocations = { ...summary, kbPerRequest: Math.round((summary.allocatedMb * 1024) / Math.max(1, serverRequests)) };
    }
    await restoreWriteLeftovers(db, dataset);
    await db.query('truncate audit_events');

    const scenarioResults: ScenarioResult[] = scenarioList.map((scenario) => {
      const measured = measurements.get(scenario.key)!;
      const ratios = measured.server.map((m, i) => round(m.rps / measured.floor[i].rps, 3));
      const logged = calibration.statements[scenario.key];
      return {
        key: scenario.key,
        title: scenario.title,
        server: summarise(measured.server, logged?.server ?? NaN),
        floor: summarise(measured.floor, logged?.floor ?? NaN),
        ratio: round(median(ratios), 3),
        ratios,
      };
    });
    const run: BenchRun = {
      date: new Date().toISOString(),
      machine: machineInfo(bench.version, bench.embedded ? 'embedded (durable: false)' : 'DATABASE_URL', options.serverNode),
      options: {
        scale: options.scale,
        trashed: options.trashed,
        duration: options.duration,
        warmup: options.warmup,
        rounds: options.rounds,
        connections: options.connections,
        purgeBatchSize: options.purgeBatchSize,
      },
      dataset: {
        users: dataset.scale,
        trashedUsers,
        posts: dataset.scale * dataset.postsPerUser,
        reused,
        seedSeconds: round(dataset.seedSeconds, 1),
        seededAt: dataset.seededAt.toISOString(),
        deepCursorDepth: inputs.depth,
      },
      statementCounting: statStatements ? 'pg_stat_statements' : 'sql-log only',
      scenarios: scenarioResults,
      purge,
      server: { peakRssMb: round(serverPeak, 1), floorPeakRssMb: round(floorPeak, 1), peakRssMbByRound: serverRssByRound },
      calibration,
      explain: calibration.plans,
      targets: {} as Targets,
      profile,
      ...(options.heapSnapshot ? { heapSnapshots } : {}),
      ...(allocations ? { allocations } : {}),
    };
    run.targets = evaluateTargets(run);
    const history = appendResult(options.resultsFile, run);
    printReport(run, history, options.print);
    return run;
  } finally {
    for (const child of children.reverse()) await child.stop().catch(() => undefined);
    await client?.end().catch(() => undefined);
    await bench.stop();
  }
}
