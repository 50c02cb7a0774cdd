import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID, memberAuthorization } from './helpers/auth';
import { seedUsersWithPosts } from './helpers/seed';
import { createStatementCounter } from './helpers/sql-counter';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser } from './helpers/users';

/** deleteUsers / deletePosts: one call, one deletion, all or nothing; and its undo. */
const counter = createStatementCounter();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
});
afterAll(() => server?.stop());

const UNKNOWN_ID = '01a22707-0000-7000-8000-0000000000b1';
const ITEM = '__typename ... on Trashable { id deletionId isDeleted deleteReason } ... on User { version } ... on Post { version }';
const PAYLOAD = `deletionId affected trashed { ${ITEM} } alreadyTrashed { ${ITEM} }`;
const DELETE_USERS = `mutation($ids: [ID!]!, $reason: String) { deleteUsers(ids: $ids, reason: $reason) { ${PAYLOAD} } }`;
const DELETE_POSTS = `mutation($ids: [ID!]!, $reason: String) { deletePosts(ids: $ids, reason: $reason) { ${PAYLOAD} } }`;

let prefixes = 0;
function seed(users: number, postsPerUser: number): Promise<string[]> {
  prefixes += 1;
  return seedUsersWithPosts(server.sql, { prefix: `bulk${prefixes}`, users, postsPerUser });
}

async function postsOf(userIds: string[]): Promise<string[]> {
  const { rows } = await server.sql.query(`select id from posts where author_id = any($1) order by id`, [userIds]);
  return rows.map((row) => row.id);
}

/** Every stored trash column of these rows: what a refused or no-op call must leave exactly as it was. */
async function snapshot(table: 'users' | 'posts', ids: string[]) {
  const { rows } = await server.sql.query(
    `select id, version, updated_at, deleted_at, deleted_by, delete_reason, deletion_id, purge_at from ${table} where id = any($1) order by id`,
    [ids],
  );
  return rows;
}

const idsOf = (items: Array<{ id: string }>) => items.map((item) => item.id);

describe('deleteUsers', () => {
  it('trashes the users and their live posts under one deletion id, in one call', async () => {
    const users = await seed(3, 2);
    const response = await server.gql(DELETE_USERS, { ids: users, reason: 'spam wave' });
    expect(response.errors).toBeUndefined();
    const payload = response.data.deleteUsers;
    expect(payload.affected).toBe(9);
    expect(idsOf(payload.trashed)).toEqual(users);
    expect(payload.alreadyTrashed).toEqual([]);
    for (const item of payload.trashed) {
      expect(item).toMatchObject({ __typename: 'User', isDeleted: true, deletionId: payload.deletionId, version: 2, deleteReason: 'spam wave' });
    }
    const stored = await server.sql.query(
      `select distinct deletion_id, deleted_by, delete_reason from (select deletion_id, deleted_by, delete_reason from users where id = any($1)
         union all select deletion_id, deleted_by, delete_reason from posts where author_id = any($1)) rows`,
      [users],
    );
    expect(stored.rows).toEqual([{ deletion_id: payload.deletionId, deleted_by: ADMIN_ID, delete_reason: 'spam wave' }]);
  });

  it('writes one DELETE audit event per user, its posts counted in affected', async () => {
    const users = await seed(2, 3);
    const { deletionId } = (await server.gql(DELETE_USERS, { ids: users, reason: 'why' })).data.deleteUsers;
    for (const id of users) {
      const events = await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 5) { nodes { action affected deletionId reason actorId } } }`, { id });
      expect(events.data.auditEvents.nodes).toEqual([{ action: 'DELETE', affected: 4, deletionId, reason: 'why', actorId: ADMIN_ID }]);
    }
  });

  it('leaves users already in the trash exactly as they were, and reports them', async () => {
    const [live, trashed] = await seed(2, 1);
    await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: trashed });
    const before = [...(await snapshot('users', [trashed])), ...(await snapshot('posts', await postsOf([trashed])))];
    const payload = (await server.gql(DELETE_USERS, { ids: [trashed, live, trashed] })).data.deleteUsers;
    expect(idsOf(payload.trashed)).toEqual([live]);
    expect(idsOf(payload.alreadyTrashed)).toEqual([trashed]);
    expect(payload.affected).toBe(2);
    expect([...(await snapshot('users', [trashed])), ...(await snapshot('posts', await postsOf([trashed])))]).toEqual(before);

    const again = (await server.gql(DELETE_USERS, { ids: [live, trashed] })).data.deleteUsers;
    expect(again).toMatchObject({ deletionId: null, affected: 0, trashed: [] });
    expect(idsOf(again.alreadyTrashed)).toEqual([live, trashed]);
  });

  it('changes nothing when any id is unknown, and names the unknown ids (NOT_FOUND, extensions.ids)', async () => {
    const users = await seed(2, 1);
    const before = await snapshot('users', users);
    const error = onlyError(await server.gql(DELETE_USERS, { ids: [users[0], UNKNOWN_ID, users[1], 'not-a-uuid'] }));
    expect(error).toMatchObject({ code: 'NOT_FOUND', extensions: { entityType: 'User', ids: [UNKNOWN_ID, 'not-a-uuid'] } });
    expect(await snapshot('users', users)).toEqual(before);
  });

  it('takes 1 to 100 ids (BAD_USER_INPUT otherwise)', async () => {
    const none = onlyError(await server.gql(DELETE_USERS, { ids: [] }));
    expect(none).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'ids' } });
    const tooMany = onlyError(await server.gql(DELETE_USERS, { ids: Array.from({ length: 101 }, () => UNKNOWN_ID) }));
    expect(tooMany).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'ids' } });
  });

  it('restoring one user of a bulk deletion brings back its own posts only; restoreDeletion brings back the rest', async () => {
    const users = await seed(3, 2);
    const { deletionId } = (await server.gql(DELETE_USERS, { ids: users })).data.deleteUsers;
    expect((await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: users[0] })).errors).toBeUndefined();
    const live = await server.sql.query(`select author_id from posts where author_id = any($1) and deleted_at is null`, [users]);
    expect(live.rows.map((row) => row.author_id)).toEqual([users[0], users[0]]);

    const undo = await server.gql(`mutation($d: ID!) { restoreDeletion(deletionId: $d) { restored { ${ITEM} } } }`, { d: deletionId });
    expect(undo.errors).toBeUndefined();
    expect(undo.data.restoreDeletion.restored).toHaveLength(6);
    const left = await server.sql.query(`select count(*)::int as n from posts where author_id = any($1) and deleted_at is not null`, [users]);
    expect(left.rows[0].n).toBe(0);
  });
});

describe('deletePosts and who may bulk-delete', () => {
  it('anonymous callers are told to sign in', async () => {
    const [user] = await seed(1, 1);
    const [post] = await postsOf([user]);
    expect(onlyError(await server.gqlAs(null, DELETE_POSTS, { ids: [post] })).code).toBe('UNAUTHENTICATED');
    expect(onlyError(await server.gqlAs(null, DELETE_USERS, { ids: [user] })).code).toBe('UNAUTHENTICATED');
  });

  it('a member trashes its own posts in one call', async () => {
    const member = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const posts = [await createPost(member.id), await createPost(member.id)];
    const response = await server.gqlAs(auth, DELETE_POSTS, { ids: posts });
    expect(response.errors).toBeUndefined();
    expect(response.data.deletePosts).toMatchObject({ affected: 2 });
    expect(idsOf(response.data.deletePosts.trashed)).toEqual(posts);
    const stored = await server.sql.query(`select distinct deleted_by from posts where id = any($1)`, [posts]);
    expect(stored.rows).toEqual([{ deleted_by: member.id }]);
  });

  it("a member's call with another's live post changes nothing (FORBIDDEN), and one with another's trashed post answers as missing (NOT_FOUND)", async () => {
    const member = await createUser(server);
    const other = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const own = await createPost(member.id);
    const othersLive = await createPost(other.id);
    const othersTrashed = await createPost(other.id);
    await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: othersTrashed });
    const before = await snapshot('posts', [own, othersLive, othersTrashed]);

    const forbidden = onlyError(await server.gqlAs(auth, DELETE_POSTS, { ids: [own, othersLive] }));
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', extensions: { ids: [othersLive] } });
    const hidden = onlyError(await server.gqlAs(auth, DELETE_POSTS, { ids: [own, othersTrashed] }));
    expect(hidden).toMatchObject({ code: 'NOT_FOUND', extensions: { ids: [othersTrashed] } });
    expect(await snapshot('posts', [own, othersLive, othersTrashed])).toEqual(before);
  });

  it('a member may bulk-delete only itself among users (FORBIDDEN for another, naming it)', async () => {
    const member = await createUser(server);
    const other = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const error = onlyError(await server.gqlAs(auth, DELETE_USERS, { ids: [member.id, other.id] }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', extensions: { ids: [other.id] } });
    expect((await snapshot('users', [member.id]))[0].deleted_at).toBeNull();
  });

  it('an admin trashes anyone’s posts', async () => {
    const users = await seed(2, 2);
    const posts = await postsOf(users);
    const response = await server.gql(DELETE_POSTS, { ids: posts });
    expect(response.data.deletePosts.affected).toBe(4);
  });
});

describe('statement counts do not grow with the number of ids', () => {
  async function statementsFor(query: string, variables: Record<string, unknown>): Promise<{ statements: string[]; response: GraphQLResponse }> {
    counter.reset();
    const response = await server.gql(query, variables);
    expect(response.errors).toBeUndefined();
    return { statements: counter.statements(), response };
  }

  async function countsFor(size: number) {
    const users = await seed(size, 3);
    const deleteUsers = await statementsFor(DELETE_USERS, { ids: users });
    const undoUsers = await statementsFor(`mutation($d: ID!) { restoreDeletion(deletionId: $d) { deletionId } }`, {
      d: deleteUsers.response.data.deleteUsers.deletionId,
    });
    const posts = (await postsOf(users)).slice(0, size);
    const deletePosts = await statementsFor(DELETE_POSTS, { ids: posts });
    const undoPosts = await statementsFor(`mutation($d: ID!) { restoreDeletion(deletionId: $d) { deletionId } }`, {
      d: deletePosts.response.data.deletePosts.deletionId,
    });
    expect(deleteUsers.response.data.deleteUsers.affected).toBe(size * 4);
    // The change's own statements: its live trash events (a NOTIFY per 40 records, after the commit, on a connection of their own) aside.
    const own = (statements: string[]) => statements.filter((statement) => !statement.startsWith('select pg_notify(')).length;
    return {
      deleteUsers: own(deleteUsers.statements),
      undoUsers: own(undoUsers.statements),
      deletePosts: own(deletePosts.statements),
      undoPosts: own(undoPosts.statements),
    };
  }

  it('deleteUsers, deletePosts and their restoreDeletion: the same for 2 ids as for 100', async () => {
    const two = await countsFor(2);
    const hundred = await countsFor(100);
    expect(hundred).toEqual(two);
    // begin, lock, one statement (one UPDATE per table and the INSERT of the audit events), commit.
    expect(two.deleteUsers).toBe(4);
    expect(two.deletePosts).toBe(4);
    // begin; per table: its blocking parents (posts only) and its rows, locked; the live clashes (users' unique keys);
    // one UPDATE per table; one INSERT of the audit events; commit.
    expect(two.undoUsers).toBe(9);
  });
});

async function createPost(authorId: string): Promise<string> {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title: 'bulk', body: '' },
  });
  return response.data.createPost.id;
}
