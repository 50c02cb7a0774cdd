import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { defaultOptions, runBench } from '../bench/src/bench';
import type { BenchRun } from '../bench/src/results';

/**
 * A smoke run of `npm run bench` (tiny dataset, one short round) on the
 * suite's database server, in a database of its own that is dropped
 * afterwards: every scenario must produce numbers for the server and for the
 * floor, so the benchmark cannot rot unnoticed. It runs the real build, as
 * the benchmark does: `dist/` and `bench/dist/` are rebuilt first when a
 * source is newer than them.
 */
const root = path.resolve(__dirname, '..');
const databaseName = `trash_graphql_bench_test_${process.pid}_${randomBytes(4).toString('hex')}`;
const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'trash-graphql-bench-'));
const resultsFile = path.join(resultsDir, 'results.json');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function builtAfter(outputs: string[], sources: string): boolean {
  return outputs.every((file) => existsSync(file) && statSync(file).mtimeMs >= newestSource(sources));
}

function buildIfNeeded(): void {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!builtAfter([path.join(root, 'dist', 'main.js')], path.join(root, 'src'))) {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
  }
  const benchOutputs = ['main.js', 'bench.js', 'floor.js', 'dist-runner.js'].map((file) => path.join(root, 'bench', 'dist', file));
  if (!builtAfter(benchOutputs, path.join(root, 'bench', 'src'))) {
    execFileSync(process.execPath, [tsc, '-p', 'bench'], { cwd: root, stdio: 'pipe' });
  }
}

async function dropDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await client.connect();
  try {
    await client.query(`drop database if exists "${databaseName}" with (force)`);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await dropDatabase();
  rmSync(resultsDir, { recursive: true, force: true });
});

const SCENARIOS = [
  's0-typename',
  's1-users-page',
  's1b-users-page-total',
  's2-users-deep',
  's3-users-posts',
  's4-user-by-id',
  's5-users-trashed',
  's6-trash',
  's6b-trash-search',
  's7-delete-restore',
];

describe('npm run bench (smoke run)', () => {
  it('measures every scenario on the server and on the floor, and writes results.json', async () => {
    buildIfNeeded();
    const lines: string[] = [];
    let run: BenchRun;
    try {
      run = await runBench({
        ...defaultOptions(),
        scale: 2000,
        trashed: 0.3,
        duration: 1,
        warmup: 0.3,
        rounds: 1,
        connections: 4,
        databaseUrl: inject('adminDatabaseUrl'),
        databaseName,
        resultsFile,
        // The option that runs the measured server on another Node release, given this one.
        serverNode: process.execPath,
        countPromises: true,
        progress: false,
        log: (line) => lines.push(line),
        print: (line) => lines.push(line),
      });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- bench log ---\n${lines.join('\n')}`, { cause: error });
    }

    const saved = JSON.parse(readFileSync(resultsFile, 'utf8')) as { runs: BenchRun[] };
    expect(saved.runs).toHaveLength(1);
    const [result] = saved.runs;
    expect(result.date).toBe(run.date);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.machine.node).toBe(`${process.version} (server; floor ${process.version})`);
    expect(result.machine.postgres).toMatch(/^\d+/);
    expect(result.dataset).toMatchObject({ users: 2000, trashedUsers: 600, posts: 10_000 });
    expect(result.scenarios.map((scenario) => scenario.key)).toEqual(SCENARIOS);
    for (const scenario of result.scenarios) {
      for (const target of [scenario.server, scenario.floor]) {
        expect(target.rps, `${scenario.key} rps`).toBeGreaterThan(0);
        expect(target.p50, `${scenario.key} p50`).toBeGreaterThan(0);
        expect(target.p99, `${scenario.key} p99`).toBeGreaterThanOrEqual(target.p50);
        // The bare pipeline runs no SQL; every other scenario does.
        if (scenario.key === 's0-typename') expect(target.statementsLogged, `${scenario.key} statements`).toBe(0);
        else expect(target.statementsLogged, `${scenario.key} statements`).toBeGreaterThan(0);
        expect(target.cpuMsPerRequest, `${scenario.key} CPU per request`).toBeGreaterThan(0);
        // The test database runs on this machine, so its CPU is measured too.
        if (scenario.key !== 's0-typename') expect(target.databaseCpuMsPerRequest, `${scenario.key} database CPU per request`).toBeGreaterThan(0);
        expect(target.errors).toBe(0);
        if (result.statementCounting === 'pg_stat_statements' && scenario.key !== 's0-typename') expect(target.statementsPerRequest).toBeGreaterThan(0);
      }
      expect(scenario.ratio, `${scenario.key} ratio`).toBeGreaterThan(0);
      expect(scenario.server.promisesPerRequest, `${scenario.key} promises per request`).toBeGreaterThan(0);
    }
    // The bare pipeline's promises, exact where its CPU time is not: 160 when Apollo saw each plugin's own request listener.
    expect(result.scenarios[0].server.promisesPerRequest).toBeLessThanOrEqual(100);
    expect(result.purge?.server.rowsPerSecond).toBeGreaterThan(0);
    expect(result.purge?.floor.rowsPerSecond).toBeGreaterThan(0);
    expect(result.purge?.server.removed[0]).toBe(result.purge?.rowsPerRound);
    expect(result.server.peakRssMb).toBeGreaterThan(0);
    expect(result.server.peakRssMbByRound).toHaveLength(1);
    expect(result.server.peakRssMbByRound[0]).toBeGreaterThan(0);
    expect(result.calibration.mismatches).toEqual([]);
    expect(result.calibration.nested.users5).toBeGreaterThan(0);
    expect(new Set(result.explain.filter((plan) => plan.required).map((plan) => plan.scenario))).toEqual(
      new Set(['s1-users-page', 's2-users-deep', 's5-users-trashed', 's6-trash', 's6b-trash-search']),
    );
    expect(Object.keys(result.targets).length).toBeGreaterThan(0);

    // The dataset is left as seeded: writes restored, purged users re-seeded, audit events cleared.
    const url = new URL(inject('adminDatabaseUrl'));
    url.pathname = `/${databaseName}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select (select count(*)::int from users) as users, (select count(*)::int from users where deleted_at is null) as live,
                (select count(*)::int from posts) as posts, (select count(*)::int from audit_events) as events`,
      );
      expect(rows[0]).toEqual({ users: 2000, live: 1400, posts: 10_000, events: 0 });
    } finally {
      await client.end();
    }
  }, 240_000);
});
