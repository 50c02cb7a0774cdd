import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Access, systemAccess } from '../src/auth/access';
import { ReadExecutor } from '../src/db/compiled/read-executor';
import { trashPolicies } from '../src/modules/trash-policies';
import type { ServiceContext } from '../src/service-context';
import { TrashBinService } from '../src/trash/trash-bin.service';
import type { TrashSearch } from '../src/trash/trash-search';
import { openRecordingDatabase, type RecordingDatabase } from './helpers/orm';

const USERS = 60_000;
const POSTS_PER_USER = 2;
const DELETERS = 50;
/** Principal n of the seed's deleters. */
const deleter = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

let database: RecordingDatabase;
let orm: MikroORM;
let statements: string[];
let trashedRows = 0;
let sampleDeletionId: string;
let memberId: string;

beforeAll(async () => {
  database = await openRecordingDatabase();
  ({ orm, statements } = database);
  const connection = orm.em.fork().getConnection();
  // Set-based seed: two users in three trashed, each by one of 50 principals, with their posts under the
  // same deletion; every fifth live user has one post trashed on its own. Deletions one second apart.
  await connection.execute(`
    insert into users (id, created_at, updated_at, version, username, email, display_name, deleted_at, deleted_by, deletion_id)
    select gen_random_uuid(), now() - make_interval(secs => 2 * ${USERS} + i), now(), 1,
           'seed_' || i, 'seed_' || i || '@example.com', 'Seed person ' || i,
           case when i % 3 <> 0 then now() - make_interval(secs => i) end,
           case when i % 3 <> 0 then ('00000000-0000-7000-8000-' || lpad((i % ${DELETERS})::text, 12, '0'))::uuid end,
           case when i % 3 <> 0 then gen_random_uuid() end
      from generate_series(1, ${USERS}) as i`);
  await connection.execute(`
    insert into posts (id, created_at, updated_at, version, author_id, title, body, deleted_at, deleted_by, deletion_id)
    select gen_random_uuid(), u.created_at + make_interval(secs => k), now(), 1, u.id,
           'Notes ' || split_part(u.username, '_', 2) || '-' || k, 'body',
           coalesce(u.deleted_at, case when k = 1 and split_part(u.username, '_', 2)::int % 5 = 0 then now() - make_interval(secs => 7) end),
           coalesce(u.deleted_by, case when k = 1 and split_part(u.username, '_', 2)::int % 5 = 0 then '${deleter(0)}'::uuid end),
           coalesce(u.deletion_id, case when k = 1 and split_part(u.username, '_', 2)::int % 5 = 0 then gen_random_uuid() end)
      from users u cross join generate_series(1, ${POSTS_PER_USER}) as k`);
  // Statistics from every row, not a sample: with the default sample, whether a rare search term happens to
  // appear in the sampled histogram decides the plan, and this test would check the luck of the draw.
  await connection.execute('alter table users alter column username set statistics 10000, alter column email set statistics 10000');
  await connection.execute('alter table users alter column display_name set statistics 10000');
  await connection.execute('alter table posts alter column title set statistics 10000');
  await connection.execute('vacuum analyze users');
  await connection.execute('vacuum analyze posts');
  const [counts] = await connection.execute(
    `select (select count(*) from users where deleted_at is not null) + (select count(*) from posts where deleted_at is not null) as n`,
  );
  trashedRows = Number(counts.n);
  const [sample] = await connection.execute(`select deletion_id from users where username = 'seed_4001'`);
  sampleDeletionId = sample.deletion_id;
  const [member] = await connection.execute(`select id from users where username = 'seed_4005'`);
  memberId = member.id;
}, 180_000);
afterAll(() => database?.close());

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function flatten(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(flatten)];
}

function serviceContext(member?: string): ServiceContext {
  const em = orm.em.fork();
  const access = member ? new Access({ role: 'member', id: member }, () => em, async () => true) : systemAccess(em);
  return { em, reads: new ReadExecutor(em), clock: () => new Date(), access, trash: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 1000, emptyTrashMaxRecords: 2000, emptyTrashMaxMs: 2000 } };
}

/** Lists a page of the trash and its totalCount exactly as the API does, then EXPLAINs every statement sent. */
async function plansOf(search: TrashSearch, member?: string): Promise<Array<{ sql: string; nodes: PlanNode[] }>> {
  statements.length = 0;
  const { page, countTotal } = await new TrashBinService(serviceContext(member), trashPolicies).list({ first: 50 }, search);
  const total = await countTotal();
  expect(total).toBeGreaterThanOrEqual(page.edges.length);
  const sent = [...statements];
  const connection = orm.em.fork().getConnection();
  const plans = [];
  for (const sql of sent) {
    const [row] = await connection.execute(`explain (format json) ${sql}`);
    plans.push({ sql, nodes: flatten(row['QUERY PLAN'][0].Plan) });
  }
  return plans;
}

/** Every statement on `table` uses `index`; no statement scans a table sequentially. */
function expectServedBy(plans: Array<{ sql: string; nodes: PlanNode[] }>, indexes: Record<string, string>) {
  expect(plans.length).toBeGreaterThan(0);
  for (const { sql, nodes } of plans) {
    expect(nodes.filter((node) => node['Node Type'] === 'Seq Scan'), sql).toEqual([]);
    const table = /from "(\w+)"/.exec(sql)![1];
    expect(Object.keys(indexes)).toContain(table);
    expect(
      nodes.map((node) => node['Index Name']),
      sql,
    ).toContain(indexes[table]);
  }
}

describe(`searching the trash, ${USERS.toLocaleString('en')} users and their posts seeded, uses an index on trashed rows for each filter`, () => {
  it('the seed has at least 100,000 trashed rows', () => {
    expect(trashedRows).toBeGreaterThanOrEqual(100_000);
  });

  it('deletedBy uses the (deleted_by, deleted_at, id) partial indexes', async () => {
    expectServedBy(await plansOf({ deletedBy: deleter(7) }), { users: 'users_trash_deleted_by_idx', posts: 'posts_trash_deleted_by_idx' });
  });

  it('deletionId uses the deletion id indexes', async () => {
    expectServedBy(await plansOf({ deletionId: sampleDeletionId }), { users: 'users_deletion_idx', posts: 'posts_deletion_idx' });
  });

  it('deletedAfter / deletedBefore use the partial trash order indexes', async () => {
    const start = new Date(Date.now() - 3_600_000);
    expectServedBy(await plansOf({ deletedAfter: start, deletedBefore: new Date(start.getTime() + 600_000) }), {
      users: 'users_trash_order_idx',
      posts: 'posts_trash_order_idx',
    });
  });

  it('search uses the partial trigram indexes', async () => {
    expectServedBy(await plansOf({ search: 'seed_4242' }), { users: 'users_trash_search_idx', posts: 'posts_trash_search_idx' });
    expectServedBy(await plansOf({ search: 'notes 4242-' }), { users: 'users_trash_search_idx', posts: 'posts_trash_search_idx' });
  });

  it('types queries only the tables asked for', async () => {
    const plans = await plansOf({ types: ['Post'], search: 'notes 4242-' });
    expect(plans.every(({ sql }) => sql.includes('from "posts"'))).toBe(true);
    expectServedBy(plans, { posts: 'posts_trash_search_idx' });
  });

  it("a member's search stays within its own trashed rows, by their own indexes", async () => {
    for (const search of [{ search: 'notes' }, { deletedBy: deleter(2) }, {}]) {
      expectServedBy(await plansOf(search, memberId), { users: 'users_pkey', posts: 'posts_author_trash_order_idx' });
    }
  });
});
