import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { flattenPlan, type PlanNode } from '../src/db/explain';
import { User } from '../src/modules/user/user.entity';
import { ReadExecutor } from '../src/db/compiled/read-executor';
import { findKeysetPage } from '../src/graphql/keyset-page';
import { trashOrder, type TrashVisibility } from '../src/trash/trash-listing';
import { openRecordingDatabase, type RecordingDatabase } from './helpers/orm';

const ROWS = 120_000;

let database: RecordingDatabase;
let orm: MikroORM;
let statements: string[];

beforeAll(async () => {
  database = await openRecordingDatabase();
  ({ orm, statements } = database);
  const connection = orm.em.fork().getConnection();
  // Set-based seed: 120k users, every third one trashed.
  await connection.execute(`
    insert into users (id, created_at, updated_at, version, username, email, deleted_at, deletion_id)
    select gen_random_uuid(), now() - make_interval(secs => i), now(), 1, 'seed_' || i, 'seed_' || i || '@example.com',
           case when i % 3 = 0 then now() - make_interval(secs => i / 2.0) end,
           case when i % 3 = 0 then gen_random_uuid() end
    from generate_series(1, ${ROWS}) as i`);
  await connection.execute('vacuum analyze users');
}, 120_000);
afterAll(() => database?.close());

/** Runs the listing exactly as the API does, then EXPLAINs each statement it sent. */
async function plansOf(work: () => Promise<unknown>): Promise<PlanNode[][]> {
  statements.length = 0;
  await work();
  const sent = [...statements];
  const connection = orm.em.fork().getConnection();
  const plans: PlanNode[][] = [];
  for (const sql of sent) {
    const [row] = await connection.execute(`explain (format json) ${sql}`);
    plans.push(flattenPlan(row['QUERY PLAN'][0].Plan));
  }
  return plans;
}

async function listingPlans(visibility: TrashVisibility, withCursor: boolean) {
  return plansOf(async () => {
    const reads = new ReadExecutor(orm.em.fork());
    let after: string | undefined;
    if (withCursor) {
      // Take a cursor from deep in the listing, then measure the page after it.
      const deep = await findKeysetPage(reads, { entity: User, first: 100, order: trashOrder<User>(visibility) });
      after = deep.edges.at(-1)!.cursor;
      statements.length = 0;
    }
    const page = await findKeysetPage(reads, { entity: User, first: 50, after, order: trashOrder<User>(visibility) });
    expect(page.edges).toHaveLength(50);
  });
}

function expectIndexOnly(plans: PlanNode[][], indexName: string) {
  expect(plans.length).toBeGreaterThan(0);
  for (const nodes of plans) {
    expect(nodes.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    expect(nodes.map((node) => node['Index Name'])).toContain(indexName);
  }
}

describe(`list queries on ${ROWS.toLocaleString('en')} users use their indexes, never a sequential scan`, () => {
  it('live users, first page, uses the partial live index', async () => {
    expectIndexOnly(await listingPlans('live', false), 'users_live_order_idx');
  });

  it('live users after a cursor uses the partial live index', async () => {
    expectIndexOnly(await listingPlans('live', true), 'users_live_order_idx');
  });

  it('onlyDeleted listing uses the partial trash index', async () => {
    expectIndexOnly(await listingPlans('trashed', false), 'users_trash_order_idx');
    expectIndexOnly(await listingPlans('trashed', true), 'users_trash_order_idx');
  });

  it('includeDeleted listing uses the full order index', async () => {
    expectIndexOnly(await listingPlans('all', true), 'users_order_idx');
  });

  it('the live-uniqueness check of a restore uses the partial unique indexes', async () => {
    const plans = await plansOf(() =>
      orm.em
        .fork()
        .getConnection()
        .execute(`select id from users where deleted_at is null and lower(username) = lower('seed_4') and id <> gen_random_uuid()`),
    );
    expectIndexOnly(plans, 'users_username_live_unique');
  });
});
