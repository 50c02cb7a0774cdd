import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedUsersWithPosts } from './helpers/seed';
import { startTestServer, type TestServer } from './helpers/test-server';

// emptyTrash works in bounded steps: at most EMPTY_TRASH_MAX_RECORDS records (here 5) per call, in
// transactions of PURGE_BATCH_SIZE records (here 2), so no request holds the database for long.

const MAX_RECORDS = 5;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    config: { trash: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 2, emptyTrashMaxRecords: MAX_RECORDS, emptyTrashMaxMs: 60_000 } },
  });
});
afterAll(() => server?.stop());

/** `users` trashed users with 2 posts each, trashed together (one deletion each), all via the API. */
async function trashUsersWithPosts(prefix: string, users: number): Promise<string[]> {
  const ids = await seedUsersWithPosts(server.sql, { prefix, users, postsPerUser: 2 });
  for (const id of ids) {
    const response = await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id });
    expect(response.errors).toBeUndefined();
  }
  return ids;
}

async function trashedRows(): Promise<number> {
  const { rows } = await server.sql.query(
    'select (select count(*) from users where deleted_at is not null) + (select count(*) from posts where deleted_at is not null) as n',
  );
  return Number(rows[0].n);
}

const emptyTrashStep = (variables: Record<string, unknown> = {}) =>
  server.gql(`mutation($limit: Int) { emptyTrashStep(limit: $limit) { removedRows remainingRows } }`, variables);

describe('emptyTrash in bounded steps', () => {
  it('purges at most EMPTY_TRASH_MAX_RECORDS records per call, reports what remains, and finishes when called again', async () => {
    await trashUsersWithPosts('step', 12); // 12 records, 36 rows
    const first = await server.gql('mutation { emptyTrash }');
    expect(first.data.emptyTrash).toBe(MAX_RECORDS * 3); // 5 users with their 2 posts each
    expect(await trashedRows()).toBe(36 - 15);

    const second = await emptyTrashStep();
    expect(second.data.emptyTrashStep).toEqual({ removedRows: 15, remainingRows: 6 });
    const third = await emptyTrashStep();
    expect(third.data.emptyTrashStep).toEqual({ removedRows: 6, remainingRows: 0 });
    expect(await trashedRows()).toBe(0);
    expect((await server.gql('mutation { emptyTrash }')).data.emptyTrash).toBe(0);
  });

  it('every purged record still gets its PURGE event, and live records are untouched', async () => {
    const [live] = await seedUsersWithPosts(server.sql, { prefix: 'kept', users: 1, postsPerUser: 2 });
    const trashed = await trashUsersWithPosts('events', 3);
    let steps = 0;
    while ((await emptyTrashStep()).data.emptyTrashStep.remainingRows > 0) steps += 1;
    expect(steps).toBe(0); // 3 records fit in one call
    const { rows } = await server.sql.query(`select entity_id from audit_events where action = 'PURGE' and entity_id = any($1::uuid[])`, [trashed]);
    expect(rows.map((row) => row.entity_id).sort()).toEqual([...trashed].sort());
    const kept = await server.sql.query('select count(*)::int as n from posts where author_id = $1', [live]);
    expect(kept.rows[0].n).toBe(2);
  });

  it('limit lowers the per-call bound', async () => {
    await trashUsersWithPosts('limited', 3);
    const response = await server.gql(`mutation { emptyTrash(limit: 1) }`);
    expect(response.data.emptyTrash).toBe(3);
    expect((await emptyTrashStep({ limit: 2 })).data.emptyTrashStep).toEqual({ removedRows: 6, remainingRows: 0 });
  });

  it.each([0, -1, MAX_RECORDS + 1])('limit %s is BAD_USER_INPUT naming limit, and purges nothing', async (limit) => {
    await trashUsersWithPosts(`bad${limit < 0 ? 'neg' : limit}`, 1);
    for (const query of [`mutation($limit: Int) { emptyTrash(limit: $limit) }`, `mutation($limit: Int) { emptyTrashStep(limit: $limit) { removedRows } }`]) {
      const response = await server.gql(query, { limit });
      expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' });
    }
    expect(await trashedRows()).toBe(3);
    await server.gql('mutation { emptyTrash }');
  });

  it('starts no new batch once EMPTY_TRASH_MAX_MS has passed: the first batch still runs', async () => {
    const hurried = await startTestServer({
      config: { trash: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 2, emptyTrashMaxRecords: MAX_RECORDS, emptyTrashMaxMs: 1 } },
    });
    try {
      const ids = await seedUsersWithPosts(hurried.sql, { prefix: 'hurried', users: 4, postsPerUser: 2 });
      for (const id of ids) await hurried.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id });
      const step = `mutation { emptyTrashStep { removedRows remainingRows } }`;
      expect((await hurried.gql(step)).data.emptyTrashStep).toEqual({ removedRows: 6, remainingRows: 6 });
      expect((await hurried.gql(step)).data.emptyTrashStep).toEqual({ removedRows: 6, remainingRows: 0 });
    } finally {
      await hurried.stop();
    }
  });

  it('is for admins only, like emptyTrash', async () => {
    const response = await server.gqlAs(null, 'mutation { emptyTrashStep { removedRows } }');
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
