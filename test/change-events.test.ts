import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberAuthorization } from './helpers/auth';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const updateUser = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id version username email displayName } }`;
const updatePost = `mutation($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { id version title body } }`;

async function createPost(authorId: string, title = 'a title'): Promise<string> {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title, body: 'a body' },
  });
  if (!response.data?.createPost) throw new Error(`createPost failed: ${JSON.stringify(response.errors)}`);
  return response.data.createPost.id as string;
}

async function mutate(query: string, variables: Record<string, unknown>, authorization?: string) {
  const response = authorization ? await server.gqlAs(authorization, query, variables) : await server.gql(query, variables);
  return response;
}

async function eventCount(entityId: string): Promise<number> {
  const { rows } = await server.sql.query('select count(*)::int as n from audit_events where entity_id = $1', [entityId]);
  return rows[0].n;
}

async function versionOf(table: 'users' | 'posts', id: string): Promise<number> {
  const { rows } = await server.sql.query(`select version from ${table} where id = $1`, [id]);
  return rows[0].version;
}

describe('a change to nothing is no change', () => {
  it('updateUser with no fields, or with the current values, keeps the version and writes no event', async () => {
    const user = await createUser(server, { displayName: 'Same' });
    const noOps = [{}, { username: user.username }, { email: user.email, displayName: 'Same' }, { username: null, email: null }];
    for (const input of noOps) {
      const response = await mutate(updateUser, { id: user.id, input });
      expect(response.errors).toBeUndefined();
      expect(response.data.updateUser).toMatchObject({ version: 1, username: user.username, displayName: 'Same' });
    }
    expect(await versionOf('users', user.id)).toBe(1);
    expect(await eventCount(user.id)).toBe(1); // CREATE only
  });

  it('updatePost with no fields, or with the current values, keeps the version and writes no event', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id, 'unchanged');
    for (const input of [{}, { title: 'unchanged' }, { title: 'unchanged', body: 'a body' }]) {
      const response = await mutate(updatePost, { id: post, input });
      expect(response.errors).toBeUndefined();
      expect(response.data.updatePost.version).toBe(1);
    }
    expect(await versionOf('posts', post)).toBe(1);
    expect(await eventCount(post)).toBe(1);
  });

  it('a no-op still honours expectedVersion: a stale one is a CONFLICT', async () => {
    const user = await createUser(server);
    await mutate(updateUser, { id: user.id, input: { displayName: 'changed' } });
    const response = await mutate(updateUser, { id: user.id, input: { expectedVersion: 1 } });
    expect(response.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('a change of case is a change', async () => {
    const user = await createUser(server, { username: 'CaseKept' });
    const response = await mutate(updateUser, { id: user.id, input: { username: 'casekept' } });
    expect(response.data.updateUser).toMatchObject({ username: 'casekept', version: 2 });
    expect(await eventCount(user.id)).toBe(2);
  });
});

describe('every version step has exactly one change event', () => {
  /**
   * Replays the audit trail: an event changes its own record, and a user's
   * DELETE/RESTORE also changes the posts it cascaded to (live posts of that
   * user on delete, posts carrying its deletion id on restore).
   */
  async function changesPerRecordFromAuditTrail(): Promise<Map<string, number>> {
    const { rows: posts } = await server.sql.query<{ id: string; author_id: string }>('select id, author_id from posts');
    const authorOf = new Map(posts.map((post) => [post.id, post.author_id]));
    const { rows: events } = await server.sql.query<{ action: string; entity_type: string; entity_id: string; deletion_id: string | null }>(
      'select action, entity_type, entity_id, deletion_id from audit_events order by id',
    );
    const changes = new Map<string, number>();
    const bump = (id: string) => changes.set(id, (changes.get(id) ?? 0) + 1);
    /** 'live', or the deletion id a post is trashed under. */
    const postState = new Map<string, string>();
    for (const event of events) {
      if (event.action === 'CREATE') {
        changes.set(event.entity_id, 0);
        if (event.entity_type === 'Post') postState.set(event.entity_id, 'live');
        continue;
      }
      if (event.action === 'PURGE') continue;
      bump(event.entity_id);
      if (event.entity_type === 'Post') {
        if (event.action === 'DELETE') postState.set(event.entity_id, event.deletion_id!);
        if (event.action === 'RESTORE') postState.set(event.entity_id, 'live');
        continue;
      }
      for (const [postId, state] of postState) {
        if (authorOf.get(postId) !== event.entity_id) continue;
        if (event.action === 'DELETE' && state === 'live') {
          postState.set(postId, event.deletion_id!);
          bump(postId);
        }
        if (event.action === 'RESTORE' && state === event.deletion_id) {
          postState.set(postId, 'live');
          bump(postId);
        }
      }
    }
    return changes;
  }

  it('after a mixed workload, version − 1 equals the number of change events of every user and post', async () => {
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await createUser(server, { displayName: `person ${i}` }));
    const postsOf: string[][] = [];
    for (const user of users) postsOf.push([await createPost(user.id), await createPost(user.id), await createPost(user.id)]);
    const [alice, bob, carol, dave] = users;
    const member = await memberAuthorization(bob.id);

    // Real changes and no-ops, by an admin and by a member on its own records.
    await mutate(updateUser, { id: alice.id, input: { displayName: 'Alice' } });
    await mutate(updateUser, { id: alice.id, input: { displayName: 'Alice' } });
    await mutate(updateUser, { id: alice.id, input: {} });
    await mutate(updateUser, { id: bob.id, input: { email: bob.email } }, member);
    await mutate(updateUser, { id: bob.id, input: { displayName: 'Bob' } }, member);
    await mutate(updatePost, { id: postsOf[1][0], input: { title: 'a title' } }, member);
    await mutate(updatePost, { id: postsOf[1][0], input: { title: 'edited' } }, member);
    await mutate(updatePost, { id: postsOf[0][1], input: {} });

    // A post trashed alone, then its author trashed and restored: the lone post stays trashed.
    await mutate(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: postsOf[0][0] });
    await deleteUser(server, alice.id);
    await deleteUser(server, alice.id); // already trashed: unchanged
    await mutate(updateUser, { id: alice.id, input: { displayName: 'in the trash' } }); // PRECONDITION_FAILED
    await mutate(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: alice.id });
    await mutate(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: alice.id }); // already live: unchanged
    await mutate(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: postsOf[0][0] });

    // Refused changes write nothing.
    await mutate(updateUser, { id: carol.id, input: { username: bob.username } }); // CONFLICT
    await mutate(updateUser, { id: carol.id, input: { displayName: 'x', expectedVersion: 9 } }); // CONFLICT
    await mutate(updateUser, { id: carol.id, input: { displayName: 'Carol' } }, member); // FORBIDDEN

    // Concurrent no-ops and real changes on one user, and a cascade that is purged.
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => mutate(updateUser, { id: carol.id, input: i % 2 === 0 ? {} : { displayName: `Carol ${i}` } })),
    );
    await deleteUser(server, dave.id);
    await mutate(`mutation($id: ID!) { purgePost(id: $id) }`, { id: postsOf[3][0] });
    await deleteUser(server, bob.id);
    await mutate(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: bob.id });

    const changes = await changesPerRecordFromAuditTrail();
    const { rows: records } = await server.sql.query<{ id: string; version: number }>(
      'select id, version from users union all select id, version from posts',
    );
    const mismatches = records
      .filter((record) => changes.has(record.id))
      .filter((record) => record.version - 1 !== changes.get(record.id))
      .map((record) => ({ id: record.id, version: record.version, changeEvents: changes.get(record.id) }));
    expect(mismatches).toEqual([]);
    // Every record of this workload was covered, and the workload did change things.
    const workload = [...users.map((user) => user.id), ...postsOf.flat()].filter((id) => id !== postsOf[3][0]);
    expect(workload.every((id) => changes.has(id))).toBe(true);
    expect(await versionOf('users', alice.id)).toBe(4); // displayName, delete, restore
    expect(await versionOf('posts', postsOf[0][0])).toBe(3); // its own delete and restore only
    expect(await versionOf('posts', postsOf[0][2])).toBe(3); // alice's delete and restore, by cascade
  });
});
