import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { AuditEvent } from './audit/audit-event.entity';
import { Post } from './modules/post/post.entity';
import { User } from './modules/user/user.entity';
import { SoftDeleteSubscriber } from './trash/soft-delete.subscriber';
import { RowCount } from './trash/row-count.entity';
import { TrashableEntity } from './trash/trashable.entity';
import { driverOptions, type OrmSettings } from './db/driver-options';
import { migrations } from './db/migrations';

export const MIGRATIONS_TABLE = 'mikro_orm_migrations';


/** MikroORM options for the given database; entities and migrations are listed, not discovered from files. */
export function ormOptions(clientUrl: string, logger?: Logger, limits: OrmSettings = {}): Options {
  return defineConfig({
    clientUrl,
    driverOptions: driverOptions(limits, logger),
    entities: [TrashableEntity, User, Post, AuditEvent, RowCount],
    subscribers: [new SoftDeleteSubscriber()],
    extensions: [Migrator],
    migrations: {
      tableName: MIGRATIONS_TABLE,
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    // Every query goes through a request's fork; the global EntityManager is for start-up only.
    allowGlobalContext: false,
    // `query` without `query-params`: the trace log shows statements with placeholders, not their values.
    debug: logger?.isLevelEnabled('trace') ? (limits.logSqlValues ? ['query', 'query-params'] : ['query']) : false,
    logger: (message) => logger?.trace({ orm: message }, 'sql'),
    pool: { min: 0, max: 10 },
  });
}
