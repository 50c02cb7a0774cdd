import 'reflect-metadata';
import pino from 'pino';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/database';
import { ormOptions } from '../orm';
import { trashPolicies } from '../modules/trash-policies';
import { RetentionJob, reschedulePurges } from '../trash/retention.job';
import { parseFlags } from './arguments';

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
  const { reschedule } = parseFlags(argv, { reschedule: { type: 'boolean', default: false } }, 'usage: npm run purge [-- --reschedule]');
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  const database = await openDatabase(config, logger, ormOptions, { shareRunningCluster: true });
  try {
    if (reschedule) {
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
