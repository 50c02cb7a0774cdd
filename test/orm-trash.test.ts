import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrate } from '../src/db/database';
import { User } from '../src/modules/user/user.entity';
import { SOFT_DELETE_FILTER, withoutSoftDelete } from '../src/trash/trashable.entity';
import pino from 'pino';
import { openRecordingDatabase, type RecordingDatabase } from './helpers/orm';

let database: RecordingDatabase;
let orm: MikroORM;
let statements: string[];

beforeAll(async () => {
  database = await openRecordingDatabase();
  ({ orm, statements } = database);
});
afterAll(() => database?.close());

async function seedUser(name: string): Promise<User> {
  const em = orm.em.fork();
  const user = em.create(User, { username: name, email: `${name}@example.com` });
  await em.flush();
  return user;
}

describe('the softDelete filter and em.remove', () => {
  it('em.remove + flush issues no DELETE: the row is kept with deletedAt and a deletion id', async () => {
    const user = await seedUser('removed_via_orm');
    const em = orm.em.fork();
    const loaded = await em.findOneOrFail(User, user.id);
    statements.length = 0;
    em.remove(loaded);
    await em.flush();
    expect(statements.some((sql) => /^delete\b/i.test(sql))).toBe(false);
    expect(statements.some((sql) => /^update "users"/i.test(sql) && sql.includes('"deleted_at"'))).toBe(true);
    const row = await orm.em.fork().getConnection().execute('select deleted_at, deletion_id, version from users where id = ?', [user.id]);
    expect(row).toHaveLength(1);
    expect(row[0].deleted_at).not.toBeNull();
    expect(row[0].deletion_id).not.toBeNull();
    expect(row[0].version).toBe(2);
  });

  it('ordinary find, findOne and count do not see trashed rows', async () => {
    const live = await seedUser('filter_live');
    const trashed = await seedUser('filter_trashed');
    const em = orm.em.fork();
    em.remove(await em.findOneOrFail(User, trashed.id));
    await em.flush();

    const reader = orm.em.fork();
    const found = await reader.find(User, { username: { $like: 'filter_%' } });
    expect(found.map((user) => user.id)).toEqual([live.id]);
    expect(await reader.findOne(User, trashed.id)).toBeNull();
    expect(await reader.count(User, { username: { $like: 'filter_%' } })).toBe(1);
  });

  it('turning the filter off is explicit and local to one query', async () => {
    const trashed = await seedUser('filter_local');
    const em = orm.em.fork();
    em.remove(await em.findOneOrFail(User, trashed.id));
    await em.flush();

    const reader = orm.em.fork();
    const withTrash = await reader.findOne(User, trashed.id, withoutSoftDelete);
    expect(withTrash?.deletedAt).toBeInstanceOf(Date);
    const next = orm.em.fork();
    expect(await next.findOne(User, trashed.id)).toBeNull();
  });

  it('the filter is registered under the name softDelete and is on by default', () => {
    const filters = orm.getMetadata().get(User.name).filters;
    expect(filters[SOFT_DELETE_FILTER]).toMatchObject({ name: 'softDelete', default: true, cond: { deletedAt: null } });
  });
});

describe('migrations', () => {
  it('leave the database exactly as the entities describe it', async () => {
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('are all applied, and applying again is a no-op', async () => {
    expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
    await migrate(orm, pino({ level: 'silent' }));
  });
});
