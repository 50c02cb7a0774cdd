import { MikroORM } from '@mikro-orm/postgresql';
import { ormOptions } from '../../src/db/orm.config';

/** A MikroORM instance on a test database that records every SQL statement it sends, parameters inlined. */
export async function initRecordingOrm(url: string): Promise<{ orm: MikroORM; statements: string[] }> {
  const statements: string[] = [];
  let orm: MikroORM | undefined;
  orm = await MikroORM.init({
    ...ormOptions(url),
    onQuery: (sql: string, params: readonly unknown[]) => {
      // The first queries (connection checks) run before init returns; they are not ours to record.
      if (orm) statements.push(orm.em.getPlatform().formatQuery(sql, params as unknown[]));
      return sql;
    },
  });
  return { orm, statements };
}
