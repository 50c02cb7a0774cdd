import { MikroORM, type Options } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { cancelInFlight } from './cancel-in-flight';
import { startEmbeddedPostgres } from './embedded-postgres';
import { rememberFailedStatement } from './database-errors';
import type { OrmSettings } from './driver-options';
import { waitForDatabase } from './wait-for-database';

export interface Database {
  orm: MikroORM;
  /** Where the database is, for the few connections kept outside the ORM's pool (LISTEN). */
  url: string;
  /** Closes the ORM's pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
  /** Leaves nothing running behind a process that exits at once (the embedded server stops on its own). */
  abort(): void;
  /** Cancels the statements of requests still running and rolls back their transactions (end of the shutdown grace). */
  cancelInFlight(): Promise<void>;
}

/** The application's ORM options for a database URL (`src/orm.ts`): they name the entities, which this folder does not know. */
export type OrmOptionsFor = (clientUrl: string, logger?: Logger, settings?: OrmSettings) => Options;

// Arbitrary constant shared by every instance: only one of them migrates at a time.
const MIGRATION_LOCK_KEY = 7_302_118_001;

/**
 * Connects to DATABASE_URL, or to an embedded PostgreSQL on DATA_DIR, and applies pending migrations.
 * A command-line tool (`shareRunningCluster`) uses the embedded cluster of a running server when there
 * is one; a second server on the same DATA_DIR is refused.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  ormOptions: OrmOptionsFor,
  options: { shareRunningCluster?: boolean } = {},
): Promise<Database> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: config.dataDir,
        durable: true,
        logger,
        whenAlreadyRunning: options.shareRunningCluster ? 'share' : 'refuse',
      });
  try {
    const url = config.databaseUrl ?? embedded!.url;
    await waitForDatabase(url, { timeoutS: config.database.connectTimeoutS, logger });
    // Migrations get a connection of their own, free of the statement timeout that guards requests.
    const migrator = await MikroORM.init(ormOptions(url, logger));
    try {
      await migrate(migrator, logger);
    } finally {
      await migrator.close(true);
    }
    const orm = await MikroORM.init(
      ormOptions(url, logger, {
        statementTimeoutMs: config.limits.statementTimeoutMs,
        requestTimeoutMs: config.database.requestTimeoutMs,
        logSqlValues: config.logSqlValues,
      }),
    );
    // Failed statements are logged by fingerprint: the error keeps the statement's parameterised text for that.
    orm.em
      .getConnection()
      .getKnex()
      .on('query-error', (error: unknown, query: { sql?: string }) => query.sql && rememberFailedStatement(error, query.sql));
    return {
      orm,
      url,
      close: async () => {
        await orm.close(true);
        await embedded?.stop();
      },
      abort: () => embedded?.abort(),
      cancelInFlight: () => cancelInFlight(orm, url, logger),
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

/** Applies pending migrations under an advisory lock, so servers starting together do not race. */
export async function migrate(orm: MikroORM, logger: Logger): Promise<void> {
  const knex = orm.em.getConnection().getKnex();
  await knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    const applied = await orm.getMigrator().up();
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, 'applied migrations');
  });
}
