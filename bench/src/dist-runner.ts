/**
 * Runs a piece of the application's build in a process of its own and prints
 * one JSON line: `migrate` (openDatabase(), which applies pending migrations)
 * or `purge` (one pass of the RetentionJob, timed). Usage:
 *   BENCH_DATABASE_URL=... node bench/dist/dist-runner.js migrate
 *   BENCH_DATABASE_URL=... BENCH_CLOCK=<iso> BENCH_BATCH_SIZE=1000 node bench/dist/dist-runner.js purge
 */
import 'reflect-metadata';
import { BENCH_JWT_SECRET, requireDist, requireFromRoot } from './paths';

interface Database {
  orm: unknown;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  const task = process.argv[2];
  const url = process.env.BENCH_DATABASE_URL;
  if (!url || (task !== 'migrate' && task !== 'purge')) throw new Error('usage: BENCH_DATABASE_URL=... dist-runner.js migrate|purge');
  const { loadConfig } = requireDist<{ loadConfig(env: NodeJS.ProcessEnv): { trash: Record<string, number> } }>('config.js');
  const { openDatabase } = requireDist<{ openDatabase(config: unknown, logger: unknown, ormOptions: unknown): Promise<Database> }>('db/database.js');
  const { ormOptions } = requireDist<{ ormOptions: unknown }>('orm.js');
  const pino = requireFromRoot('pino') as (options: { level: string }) => unknown;
  const logger = pino({ level: 'silent' });
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', DATABASE_URL: url, JWT_SECRET: BENCH_JWT_SECRET });
  const database = await openDatabase(config, logger, ormOptions);
  try {
    if (task === 'migrate') {
      console.log(JSON.stringify({ migrated: true }));
      return;
    }
    const { RetentionJob } = requireDist<{ RetentionJob: new (options: Record<string, unknown>) => { runOnce(): Promise<{ removed: number; batches: number; skipped: boolean }> } }>(
      'trash/retention.job.js',
    );
    const { trashPolicies } = requireDist<{ trashPolicies: unknown }>('modules/trash-policies.js');
    const clock = new Date(process.env.BENCH_CLOCK ?? Date.now());
    const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? config.trash.purgeBatchSize);
    const job = new RetentionJob({
      orm: database.orm,
      // A fixed instant: only the rows the benchmark made due are due at it, whatever today's date.
      clock: () => clock,
      settings: { ...config.trash, purgeBatchSize: batchSize },
      policies: trashPolicies,
      logger,
      observer: { trashChanged: () => {} },
    });
    const started = process.hrtime.bigint();
    const result = await job.runOnce();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(JSON.stringify({ ...result, seconds }));
  } finally {
    await database.close();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
