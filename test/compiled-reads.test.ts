import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { readJson } from '../src/db/compiled/json-reads';
import {
  readByIds,
  readKeysetCount,
  readKeysetCountPerParent,
  readKeysetRows,
  readKeysetRowsPerParent,
  readKeysetRowsWithChildren,
} from '../src/db/compiled/keyset-reads';
import { ReadExecutor } from '../src/db/compiled/read-executor';
import { compiledStatement, MAX_PREPARED_STATEMENTS } from '../src/db/compiled/read-sql';
import { countKeysetRows, countKeysetRowsPerParent, findKeysetRows, findKeysetRowsPerParent, type Cursor, type KeysetOrder } from '../src/db/keyset';
import { Post } from '../src/modules/post/post.entity';
import { User } from '../src/modules/user/user.entity';
import { userTrashPolicy } from '../src/modules/trash-policies';
import { RowCounts } from '../src/trash/row-counts';
import { trashSearchConditions } from '../src/trash/trash-search';
import { trashedRowsVisibleTo, trashOrder, type TrashVisibility } from '../src/trash/trash-listing';
import { SOFT_DELETE_FILTER, withoutSoftDelete, type TrashableEntity } from '../src/trash/trashable.entity';
import { openRecordingDatabase, type RecordingDatabase } from './helpers/orm';

let database: RecordingDatabase;
let orm: MikroORM;
let userIds: string[];
/** A member whose own user is trashed, so its own trashed rows show in every member listing. */
let memberId: string;

beforeAll(async () => {
  database = await openRecordingDatabase();
  orm = database.orm;
  const connection = orm.em.fork().getConnection();
  // 40 users, every third trashed; creation times tie in threes and deletion times in pairs, so the id decides order there.
  await connection.execute(`
    insert into users (id, created_at, updated_at, version, username, email, deleted_at, deletion_id)
    select gen_random_uuid(), timestamptz '2026-01-01' - make_interval(secs => i / 3), now(), 1, 'reader_' || i, 'reader_' || i || '@example.com',
           case when i % 3 = 0 then timestamptz '2026-06-01' - make_interval(secs => i / 2) end,
           case when i % 3 = 0 then gen_random_uuid() end
      from generate_series(1, 40) as i`);
  // Up to 9 posts each; a trashed user's posts are all trashed, a live user's every fourth one.
  await connection.execute(`
    insert into posts (id, created_at, updated_at, version, author_id, title, body, deleted_at, deletion_id)
    select gen_random_uuid(), u.created_at + make_interval(secs => p / 2), now(), 1, u.id, 'post ' || p, 'body ' || p,
           case when u.deleted_at is not null then u.deleted_at when p % 4 = 0 then timestamptz '2026-07-01' - make_interval(secs => p) end,
           case when u.deleted_at is not null then u.deletion_id when p % 4 = 0 then gen_random_uuid() end
      from users u cross join generate_series(1, 9) as p
     where p <= 1 + (hashtext(u.username) & 7)`);
  const rows: Array<{ id: string; deleted_at: string | null }> = await connection.execute('select id, deleted_at from users order by created_at desc, id desc');
  userIds = rows.map((row) => row.id);
  memberId = rows.find((row) => row.deleted_at !== null)!.id;
}, 60_000);
afterAll(() => database?.close());

const fork = () => orm.em.fork() as EntityManager;
const visibilities: TrashVisibility[] = ['live', 'all', 'trashed'];
// The whole trash's order, as the trash listing reads it from each entity.
const wholeTrash: KeysetOrder<TrashableEntity> = { name: 'trash', sortProperty: 'deletedAt', where: { deletedAt: { $ne: null } } };

/**
 * The listings the API can ask for: each visibility as an admin and as a
 * member owning rows of every kind. `where` is built in the test, once the
 * member is known.
 */
function listingsOf<T extends TrashableEntity>(ownerProperty: keyof T & string) {
  const listings: Array<{ label: string; order: KeysetOrder<T>; where: () => FilterQuery<T> }> = [];
  for (const visibility of visibilities) {
    for (const asMember of [false, true]) {
      listings.push({
        label: `${visibility} as ${asMember ? 'member' : 'admin'}`,
        order: trashOrder<T>(visibility),
        where: () => trashedRowsVisibleTo<T>(visibility, ownerProperty, asMember ? memberId : null),
      });
    }
  }
  listings.push({ label: 'whole trash', order: wholeTrash as unknown as KeysetOrder<T>, where: () => ({}) });
  return listings;
}

/** A position a few rows into the ORM path's listing, so pages after a cursor are compared too. */
async function cursorInto<T extends TrashableEntity>(query: Parameters<typeof findKeysetRows<T>>[1], depth: number): Promise<Cursor | null> {
  const rows = await findKeysetRows(fork(), { ...query, first: depth });
  const last = rows.at(depth - 1);
  return last ? { sortValue: last[query.order.sortProperty] as Date, id: last.id } : null;
}

describe('the compiled reads select what the ORM path selects: same rows, same order, same visibility', () => {
  for (const [entity, ownerProperty] of [
    [User, 'id'],
    [Post, 'author'],
  ] as const) {
    for (const listing of listingsOf<TrashableEntity>(ownerProperty as keyof TrashableEntity & string)) {
      it(`${entity.name}: ${listing.label}, first page, a page after a cursor, and the count`, async () => {
        const query = { entity: entity as never, order: listing.order, where: listing.where(), first: 5 };
        const cursor = await cursorInto(query, 4);
        for (const after of [null, cursor]) {
          const viaOrm = await findKeysetRows(fork(), { ...query, after });
          const compiled = await readKeysetRows(new ReadExecutor(fork()), { ...query, after });
          expect(compiled).toEqual(viaOrm);
          if (after === null) expect(compiled.length).toBeGreaterThan(0);
        }
        expect(await readKeysetCount(new ReadExecutor(fork()), query)).toBe(await countKeysetRows(fork(), query));
      });
    }
  }

  for (const listing of listingsOf<Post>('author')) {
    it(`posts per author: ${listing.label}, pages and counts for many authors in one statement`, async () => {
      const query = { entity: Post, parentProperty: 'author' as const, parentIds: userIds, order: listing.order, where: listing.where(), first: 3 };
      for (const after of [null, await cursorInto({ ...query }, 2)]) {
        const viaOrm = await findKeysetRowsPerParent(fork(), { ...query, after });
        const compiled = await readKeysetRowsPerParent(new ReadExecutor(fork()), { ...query, after });
        expect([...compiled.entries()].sort()).toEqual([...viaOrm.entries()].sort());
      }
      expect(await readKeysetCountPerParent(new ReadExecutor(fork()), query)).toEqual(await countKeysetRowsPerParent(fork(), query));
    });
  }

  it('by id: the softDelete filter hides a trashed record exactly as the ORM applies it, and nothing hides it without', async () => {
    for (const id of userIds) {
      const reads = new ReadExecutor(fork());
      const [live] = await readByIds(reads, User, [id], { name: SOFT_DELETE_FILTER, apply: true });
      const [any] = await readByIds(reads, User, [id], { name: SOFT_DELETE_FILTER, apply: false });
      expect(live?.id ?? null).toBe((await fork().findOne(User, { id }))?.id ?? null);
      expect(any?.id).toBe((await fork().findOne(User, { id }, withoutSoftDelete))?.id);
      const [row] = await findKeysetRows(fork(), { entity: User, order: trashOrder<User>('all'), where: { id }, first: 1 });
      expect(any).toEqual(row);
    }
    expect(await readByIds(new ReadExecutor(fork()), User, ['00000000-0000-7000-8000-000000000000'], { name: SOFT_DELETE_FILTER, apply: false })).toEqual([]);
    const many = await readByIds(new ReadExecutor(fork()), User, userIds, { name: SOFT_DELETE_FILTER, apply: true });
    expect(many.map((user) => user.id).sort()).toEqual((await fork().find(User, { id: { $in: userIds } })).map((user) => user.id).sort());
  });

  for (const visibility of visibilities) {
    it(`users with their posts in one statement (${visibility} posts): the users page, each user's posts page, and the counters' totals`, async () => {
      const users = { entity: User, order: trashOrder<User>('all'), where: {}, first: 12 };
      const posts = { entity: Post, parentProperty: 'author' as const, order: trashOrder<Post>(visibility), where: {}, first: 2 };
      const reads = new ReadExecutor(fork());
      const counts = new RowCounts(reads);
      for (const after of [null, await cursorInto(users, 6)]) {
        const compiled = await readKeysetRowsWithChildren(reads, { ...users, after }, {
          ...posts,
          total: { key: `test:${visibility}`, sql: (authorId) => counts.countSql(Post, visibility, authorId) },
        });
        const parents = await findKeysetRows(fork(), { ...users, after });
        expect(compiled.map((row) => row.parent)).toEqual(parents);
        const children = await findKeysetRowsPerParent(fork(), { ...posts, parentIds: parents.map((user) => user.id) });
        const totals = await countKeysetRowsPerParent(fork(), { ...posts, parentIds: parents.map((user) => user.id) });
        for (const row of compiled) {
          expect(row.children).toEqual(children.get(row.parent.id) ?? []);
          expect(row.childTotal).toBe(totals.get(row.parent.id));
        }
      }
    });
  }
});

describe('prepared statements are planned once per connection', () => {
  it('a page, a page after a cursor and a rendered page run a cached plan after their first runs; a search is planned for each pattern', async () => {
    // PostgreSQL keeps re-planning a statement whose generic plan it estimates dearer than the plans made for its values,
    // which only shows on a table of some size: this test comes last and adds 20,000 live users.
    const connection = orm.em.fork().getConnection();
    await connection.execute(`
      insert into users (id, created_at, updated_at, version, username, email)
      select gen_random_uuid(), timestamptz '2025-01-01' - make_interval(secs => i), now(), 1, 'bulk_' || i, 'bulk_' || i || '@example.com'
        from generate_series(1, 20000) as i`);
    await connection.execute('analyze users');
    // One connection of its own, so that its prepared statements can be inspected.
    const client = new pg.Client({ connectionString: orm.config.getClientUrl() });
    await client.connect();
    try {
      const reads = new ReadExecutor(fork(), (work) => work(client));
      const query = { entity: User, order: trashOrder<User>('live'), where: {}, first: 7 };
      const cursor = await cursorInto(query, 3);
      const rendered = {
        kind: 'connection' as const,
        connection: {
          sources: [{ query: { ...query, after: null } as never }],
          fields: [{ key: 'nodes', value: { kind: 'nodes' as const, node: { entity: User, fields: [{ key: 'id', value: { kind: 'column' as const, property: 'id' } }] } } }],
        },
      };
      // A trash search binds patterns: which plan is right depends on them (a trigram index for a rare one).
      const search = { ...query, order: trashOrder<User>('trashed'), where: trashSearchConditions(userTrashPolicy, { search: 'bulk_1' }) as FilterQuery<User> };
      const searched = { ...rendered, connection: { ...rendered.connection, sources: [{ query: { ...search, after: null } as never }] } };
      for (let run = 0; run < 12; run += 1) {
        await readKeysetRows(reads, { ...query, after: null });
        await readKeysetRows(reads, { ...query, after: cursor });
        await readJson(reads, [rendered]);
        await readKeysetRows(reads, { ...search, after: null });
        await readKeysetCount(reads, search);
        await readJson(reads, [searched]);
      }
      const { rows } = await client.query<{ name: string; statement: string; generic_plans: string; custom_plans: string }>(
        'select name, statement, generic_plans, custom_plans from pg_prepared_statements',
      );
      // The searches ran unnamed, each planned for its pattern: only the three others are kept prepared.
      expect(rows.filter((row) => row.statement.includes('ilike'))).toEqual([]);
      expect(rows).toHaveLength(3);
      // PostgreSQL makes custom plans for the first five runs, then keeps its generic plan if it costs no more.
      for (const row of rows) {
        expect(Number(row.custom_plans), row.name).toBeLessThanOrEqual(5);
        expect(Number(row.generic_plans), row.name).toBeGreaterThanOrEqual(7);
      }
    } finally {
      await client.end();
    }
  });

  it(`are bounded (${MAX_PREPARED_STATEMENTS} named): past that, a new shape runs unnamed, and those named before keep their names`, () => {
    const first = compiledStatement('bound-test:0', () => 'select 0');
    expect(first.name).toMatch(/^read_/);
    let index = 1;
    for (; compiledStatement(`bound-test:${index}`, () => `select ${index}`).name !== undefined; index += 1) expect(index).toBeLessThan(MAX_PREPARED_STATEMENTS);
    expect(compiledStatement(`bound-test:${index + 1}`, () => 'select -1')).toEqual({ text: 'select -1' });
    expect(compiledStatement('bound-test:0', () => 'select 0')).toBe(first);
  });
});
