import { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { startEmbeddedPostgres } from './embedded-postgres';
import { ormOptions } from './orm.config';

export interface Database {
  orm: MikroORM;
  /** Where the database is, for the few connections kept outside the ORM's pool (LISTEN). */
  url: string;
  /** Closes the ORM's pool, then stops the embedded server if this process started it. */
  close(): Promise<void>;
  /** Leaves nothing running behind a process that exits at once (the embedded server stops on its own). */
  abort(): void;
}

// Arbitrary constant shared by every instance: only one of them migrates at a time.
const MIGRATION_LOCK_KEY = 7_302_118_001;

/** Connects to DATABASE_URL, or to an embedded PostgreSQL on DATA_DIR, and applies pending migrations. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const embedded = config.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: config.dataDir, durable: true, logger });
  try {
    const url = config.databaseUrl ?? embedded!.url;
    // Migrations get a connection of their own, free of the statement timeout that guards requests.
    const migrator = await MikroORM.init(ormOptions(url, logger));
    try {
      await migrate(migrator, logger);
    } finally {
      await migrator.close(true);
    }
    const orm = await MikroORM.init(ormOptions(url, logger, { statementTimeoutMs: config.limits.statementTimeoutMs }));
    return {
      orm,
      url,
      close: async () => {
        await orm.close(true);
        await embedded?.stop();
      },
      abort: () => embedded?.abort(),
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
