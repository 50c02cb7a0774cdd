/**
 * `npm run bench:replicas -- [--scale 20000] [--duration 5] [--rounds 3] [--connections 8]`
 *
 * What routing reads to a replica costs: a primary and a streaming replica of
 * the benchmark's own (the same builder the tests use), one dataset, and two
 * servers as `npm start` runs them: one on the primary alone, one with
 * DATABASE_REPLICA_URLS. Read scenarios (s1 page, s4 by id) are driven at both,
 * back to back, alternating which goes first. On one machine the replica shares
 * the cores with the primary, both servers and the load generator, so this
 * measures the routing overhead, never a throughput gain.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { scenarioInputs } from './bench';
import { runLoad, type LoadResult } from './load';
import { BENCH_JWT_SECRET, benchDistDir, repoRoot, requireDist } from './paths';
import { runNodeJson, startAppServer, type ChildServer } from './processes';
import { scenarios } from './scenarios';
import { expectedTrashedUsers, seedDataset } from './seed';

interface ReplicatedCluster {
  primaryUrl: string;
  replicaUrl: string;
  baseBackup: string;
  waitForReplay(): Promise<void>;
  stop(): Promise<void>;
}

interface Options {
  scale: number;
  duration: number;
  rounds: number;
  connections: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { scale: 20_000, duration: 5, rounds: 3, connections: 8 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, raw] = [argv[i], argv[i + 1]];
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    if (flag === '--scale') options.scale = Math.round(value);
    else if (flag === '--duration') options.duration = value;
    else if (flag === '--rounds') options.rounds = Math.round(value);
    else if (flag === '--connections') options.connections = Math.round(value);
    else throw new Error(`Unknown argument ${flag}: --scale N --duration S --rounds N --connections N`);
  }
  return options;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

export interface ReplicaBenchResult {
  scenario: string;
  primaryOnly: { rps: number; p50: number; p99: number; errors: number };
  withReplica: { rps: number; p50: number; p99: number; errors: number };
  /** withReplica rps / primaryOnly rps, median over rounds of back-to-back pairs. */
  ratio: number;
}

export async function runReplicaBench(options: Options, log: (line: string) => void = (line) => console.error(line)): Promise<ReplicaBenchResult[]> {
  const { startReplicatedCluster } = requireDist<{ startReplicatedCluster(options?: { binDir?: string }): Promise<ReplicatedCluster> }>('db/streaming-replica.js');
  log('starting a primary and a streaming replica');
  const cluster = await startReplicatedCluster();
  const servers: ChildServer[] = [];
  try {
    await runNodeJson(path.join(benchDistDir, 'dist-runner.js'), ['migrate'], { BENCH_DATABASE_URL: cluster.primaryUrl });
    const client = new pg.Client({ connectionString: cluster.primaryUrl });
    await client.connect();
    const spec = { scale: options.scale, trashed: 0.3 };
    let inputs;
    try {
      log(`seeding ${options.scale.toLocaleString('en-US')} users (30% trashed), 5 posts each`);
      await seedDataset(client, spec, { progress: false, log });
      inputs = await scenarioInputs(client, spec.scale - expectedTrashedUsers(spec));
    } finally {
      await client.end();
    }
    await cluster.waitForReplay();
    const primaryOnly = await startAppServer({ databaseUrl: cluster.primaryUrl, secret: BENCH_JWT_SECRET, logLevel: 'silent' });
    servers.push(primaryOnly);
    const withReplica = await startAppServer({
      databaseUrl: cluster.primaryUrl,
      secret: BENCH_JWT_SECRET,
      logLevel: 'silent',
      env: { DATABASE_REPLICA_URLS: cluster.replicaUrl },
    });
    servers.push(withReplica);

    const results: ReplicaBenchResult[] = [];
    for (const scenario of scenarios(inputs).filter((candidate) => ['s1-users-page', 's4-user-by-id'].includes(candidate.key))) {
      const rounds: Array<{ primaryOnly: LoadResult; withReplica: LoadResult }> = [];
      for (let round = 0; round < options.rounds; round++) {
        const measure = (server: ChildServer) =>
          runLoad({ target: 'server', baseUrl: server.url, scenario, connections: options.connections, seconds: options.duration });
        // Alternate which goes first, so warm-up and drift do not favour one side.
        if (round % 2 === 0) {
          const a = await measure(primaryOnly);
          rounds.push({ primaryOnly: a, withReplica: await measure(withReplica) });
        } else {
          const b = await measure(withReplica);
          rounds.push({ primaryOnly: await measure(primaryOnly), withReplica: b });
        }
        log(`${scenario.key} round ${round + 1}: primary only ${rounds.at(-1)!.primaryOnly.rps.toFixed(0)} req/s, with replica ${rounds.at(-1)!.withReplica.rps.toFixed(0)} req/s`);
      }
      const summary = (side: 'primaryOnly' | 'withReplica') => ({
        rps: Math.round(median(rounds.map((r) => r[side].rps))),
        p50: Math.round(median(rounds.map((r) => r[side].p50)) * 100) / 100,
        p99: Math.round(median(rounds.map((r) => r[side].p99)) * 100) / 100,
        errors: rounds.reduce((sum, r) => sum + r[side].errors, 0),
      });
      results.push({
        scenario: scenario.title,
        primaryOnly: summary('primaryOnly'),
        withReplica: summary('withReplica'),
        ratio: Math.round(median(rounds.map((r) => r.withReplica.rps / r.primaryOnly.rps)) * 1000) / 1000,
      });
    }
    return results;
  } finally {
    for (const server of servers) await server.stop();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const results = await runReplicaBench(options);
  console.log(`\nreplica routing vs primary only (${os.cpus().length} cores, ${options.scale.toLocaleString('en-US')} users, ${options.connections} connections, ${options.rounds} × ${options.duration} s)`);
  console.log('| scenario | primary only req/s | p50 / p99 ms | with replica req/s | p50 / p99 ms | ratio |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.scenario} | ${r.primaryOnly.rps} | ${r.primaryOnly.p50} / ${r.primaryOnly.p99} | ${r.withReplica.rps} | ${r.withReplica.p50} / ${r.withReplica.p99} | ${r.ratio} |`);
  }
  const file = path.join(repoRoot, 'bench', 'dist', 'replica-results.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), options, results }, null, 2)}\n`);
  if (results.some((r) => r.primaryOnly.errors + r.withReplica.errors > 0)) {
    console.error('some requests failed');
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
