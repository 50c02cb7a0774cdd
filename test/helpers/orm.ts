import { MikroORM } from '@mikro-orm/postgresql';
import pino from 'pino';
import { migrate } from '../../src/db/database';
import { ormOptions } from '../../src/orm';
import { createTestDatabase } from './database';

export interface RecordingDatabase {
  orm: MikroORM;
  /** Every SQL statement the ORM sent, parameters inlined; clear it with `statements.length = 0`. */
  statements: string[];
  close(): Promise<void>;
}

/** A migrated database of the test file's own, with a MikroORM instance that records what it sends. */
export async function openRecordingDatabase(): Promise<RecordingDatabase> {
  const database = await createTestDatabase();
  const statements: string[] = [];
  let orm: MikroORM | undefined;
  orm = await MikroORM.init({
    ...ormOptions(database.url),
    onQuery: (sql: string, params: readonly unknown[]) => {
      // The first queries (connection checks) run before init returns; they are not ours to record.
      if (orm) statements.push(orm.em.getPlatform().formatQuery(sql, params as unknown[]));
      return sql;
    },
  });
  await migrate(orm, pino({ level: 'silent' }));
  const opened = orm;
  return {
    orm: opened,
    statements,
    close: async () => {
      await opened.close(true);
      await database.drop();
    },
  };
}
