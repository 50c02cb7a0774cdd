import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

async function mutate(field: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const response = await server.gql(query, variables);
  if (response.data?.[field] == null) throw new Error(`${field} failed: ${JSON.stringify(response.errors)}`);
  return response.data[field];
}

const createPost = (authorId: string, title: string): Promise<{ id: string }> =>
  mutate('createPost', `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, { input: { authorId, title, body: 'text' } });
const deletePost = (id: string) => mutate('deletePost', `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id });
const restorePost = (id: string) => mutate('restorePost', `mutation($id: ID!) { restorePost(id: $id) { id } }`, { id });
const restoreUser = (id: string) => mutate('restoreUser', `mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id });
const purgeUser = (id: string) => mutate('purgeUser', `mutation($id: ID!) { purgeUser(id: $id) }`, { id });
const purgePost = (id: string) => mutate('purgePost', `mutation($id: ID!) { purgePost(id: $id) }`, { id });

/** Every counter compared with what count(*) finds in the tables themselves. */
async function expectCountersToMatchTables(): Promise<void> {
  const { rows } = await server.sql.query(`
    with counted as (
      select 'users' as table_name, '00000000-0000-0000-0000-000000000000'::uuid as parent_id,
             count(*) filter (where deleted_at is null) as live, count(*) filter (where deleted_at is not null) as trashed from users
      union all
      select 'posts', '00000000-0000-0000-0000-000000000000'::uuid,
             count(*) filter (where deleted_at is null), count(*) filter (where deleted_at is not null) from posts
      union all
      select 'posts', author_id, count(*) filter (where deleted_at is null), count(*) filter (where deleted_at is not null) from posts group by author_id
    ), kept as (
      select table_name, parent_id, sum(live) as live, sum(trashed) as trashed from row_counts group by table_name, parent_id
    )
    select coalesce(c.table_name, k.table_name) as table_name, coalesce(c.parent_id, k.parent_id) as parent_id,
           coalesce(c.live, 0)::int as counted_live, coalesce(k.live, 0)::int as kept_live,
           coalesce(c.trashed, 0)::int as counted_trashed, coalesce(k.trashed, 0)::int as kept_trashed
    from counted c full join kept k on k.table_name = c.table_name and k.parent_id = c.parent_id`);
  const mismatches = rows.filter((row) => row.counted_live !== row.kept_live || row.counted_trashed !== row.kept_trashed);
  expect(mismatches).toEqual([]);
  // Purged parents leave no empty counter rows behind.
  const { rows: empty } = await server.sql.query(
    `select count(*)::int as n from row_counts where parent_id <> '00000000-0000-0000-0000-000000000000' and live = 0 and trashed = 0`,
  );
  expect(empty[0].n).toBe(0);
}

describe('maintained row counts', () => {
  it('agree with count(*) after a mixed workload of creates, trash, restores and purges', async () => {
    const users = [];
    for (let i = 0; i < 6; i += 1) users.push(await createUser(server));
    const posts: Record<string, string[]> = {};
    for (const user of users) {
      posts[user.id] = [];
      for (let i = 0; i < 3; i += 1) posts[user.id].push((await createPost(user.id, `Counted ${i}`)).id);
    }
    await expectCountersToMatchTables();

    await deletePost(posts[users[0].id][0]);
    await deleteUser(server, users[0].id); // cascades the two remaining posts
    await deleteUser(server, users[1].id);
    await restoreUser(users[1].id);
    await deletePost(posts[users[2].id][1]);
    await restorePost(posts[users[2].id][1]);
    await deletePost(posts[users[3].id][2]);
    await purgePost(posts[users[3].id][2]);
    await deleteUser(server, users[4].id);
    await purgeUser(users[4].id);
    await deleteUser(server, users[5].id);
    await expectCountersToMatchTables();

    await mutate('emptyTrash', `mutation { emptyTrash }`, {});
    await expectCountersToMatchTables();
  });

  it('stay exact under concurrent writers, without deadlocks', async () => {
    const authors = await Promise.all([createUser(server), createUser(server), createUser(server)]);
    const created = await Promise.all(
      Array.from({ length: 30 }, (_, i) => createPost(authors[i % authors.length].id, `Concurrent ${i}`)),
    );
    await Promise.all([
      ...created.slice(0, 10).map((post) => deletePost(post.id)),
      deleteUser(server, authors[1].id),
      ...Array.from({ length: 10 }, (_, i) => createPost(authors[(i % 2) * 2].id, `More ${i}`)),
    ]);
    await expectCountersToMatchTables();
  });

  it('are rebuilt from nothing when a table is truncated', async () => {
    await server.sql.query('truncate posts');
    await expectCountersToMatchTables();
    await createPost((await createUser(server)).id, 'After truncate');
    await expectCountersToMatchTables();
  });

  it('are counted again by row_counts_rebuild() after a load that bypassed the triggers', async () => {
    const author = await createUser(server);
    const client = await server.sql.connect();
    try {
      await client.query('set session_replication_role = replica');
      await client.query(
        `insert into posts (id, created_at, updated_at, version, author_id, title, body, deleted_at)
         select gen_random_uuid(), now(), now(), 1, $1, 'Bulk ' || i, 'text', case when i % 3 = 0 then now() end
         from generate_series(1, 50) as i`,
        [author.id],
      );
      await client.query('reset session_replication_role');
    } finally {
      client.release();
    }
    await expect(expectCountersToMatchTables()).rejects.toThrow();
    await server.sql.query('select row_counts_rebuild()');
    await expectCountersToMatchTables();
  });
});
