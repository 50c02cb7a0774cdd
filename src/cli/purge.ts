import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { trashPolicies } from '../modules/trash-policies';
import { RetentionJob, reschedulePurges } from '../trash/retention.job';

export interface PurgeCommandResult {
  removed?: number;
  batches?: number;
  skipped?: boolean;
  rescheduled?: number;
}

/**
 * `npm run purge`: one retention pass (for cron), or with `--reschedule`,
 * recompute every trashed record's purgeAt from TRASH_RETENTION_DAYS.
 */
export async function runPurgeCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<PurgeCommandResult> {
  const unknown = argv.filter((arg) => arg !== '--reschedule');
  if (unknown.length > 0) throw new ConfigError(`Unknown argument ${unknown[0]}; usage: npm run purge [-- --reschedule]`);
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  const database = await openDatabase(config, logger, { shareRunningCluster: true });
  try {
    if (argv.includes('--reschedule')) {
      return { rescheduled: await reschedulePurges(database.orm, trashPolicies, config.trash.retentionDays) };
    }
    const job = new RetentionJob({ orm: database.orm, clock: () => new Date(), settings: config.trash, policies: trashPolicies, logger });
    return await job.runOnce();
  } finally {
    await database.close();
  }
}

if (require.main === module) {
  runPurgeCommand(process.argv.slice(2)).then(
    (result) => console.log(JSON.stringify(result)),
    (error) => {
      console.error(error instanceof ConfigError ? error.message : error);
      process.exit(1);
    },
  );
}
