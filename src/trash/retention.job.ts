import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { TrashSettings } from '../config';
import { tableName } from '../db/columns';
import { ReadExecutor } from '../db/compiled/read-executor';
import { runPurgePass, type PurgePassResult } from './purge';
import { systemAccess } from '../auth/access';
import type { Clock, ServiceContext } from '../service-context';
import type { TrashObserver } from './trash-observer';
import type { AnyTrashPolicy } from './trash-policy';

export interface RetentionJobOptions {
  orm: MikroORM;
  clock: Clock;
  settings: TrashSettings;
  policies: readonly AnyTrashPolicy[];
  logger: Logger;
  observer?: TrashObserver;
}

/**
 * Purges trashed records whose `purgeAt` has passed, every
 * `purgeIntervalSeconds`. Several servers on one database may run it: the
 * purge pass's advisory lock lets one of them work at a time.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PurgePassResult> | undefined;

  constructor(private readonly options: RetentionJobOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.runOnce().catch((error) => this.options.logger.error({ err: error }, 'retention purge failed'));
    }, this.options.settings.purgeIntervalSeconds * 1000);
    // The job never keeps the process alive on its own.
    this.timer.unref();
  }

  /** Stops scheduling and waits for a pass in progress, so the database can close under it safely. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass over everything due now; a pass already in progress is joined rather than doubled. */
  runOnce(): Promise<PurgePassResult> {
    this.running ??= this.purgeDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async purgeDue(): Promise<PurgePassResult> {
    const { orm, clock, settings, policies, logger, observer } = this.options;
    const now = clock();
    // The system acts here: admin rights, no principal id.
    const em = orm.em.fork();
    const context: ServiceContext = { em, reads: new ReadExecutor(em), clock, access: systemAccess(em), trash: settings, observer };
    const result = await runPurgePass(context, policies, {
      due: { column: 'purge_at', before: now, inclusive: true },
      batchSize: settings.purgeBatchSize,
      waitForLock: false,
    });
    if (result.skipped) logger.debug('retention purge skipped: another purger holds the lock');
    else if (result.removed > 0) logger.info({ removed: result.removed, batches: result.batches }, 'retention purge removed expired trash');
    return result;
  }
}

/**
 * Recomputes `purgeAt` of everything in the trash from the current retention
 * period (`deletedAt + retentionDays`, or no automatic purge when 0). Changing
 * TRASH_RETENTION_DAYS alone never moves what is already scheduled; this does,
 * when asked (`npm run purge -- --reschedule`). Returns the rows rescheduled.
 */
export async function reschedulePurges(orm: MikroORM, policies: readonly AnyTrashPolicy[], retentionDays: number): Promise<number> {
  const connection = orm.em.getConnection();
  let rescheduled = 0;
  for (const policy of policies) {
    const table = tableName(orm, policy.entity);
    const result = await connection.execute(
      `update "${table}" set purge_at = case when ?::int > 0 then deleted_at + make_interval(days => ?::int) end where deleted_at is not null`,
      [retentionDays, retentionDays],
      'run',
    );
    rescheduled += (result as unknown as { affectedRows: number }).affectedRows;
  }
  return rescheduled;
}
