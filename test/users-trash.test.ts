import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, USER_FIELDS, type UserView } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const userQuery = `query($id: ID!, $includeDeleted: Boolean! = false) { user(id: $id, includeDeleted: $includeDeleted) { ${USER_FIELDS} } }`;
const restoreMutation = `mutation($id: ID!) { restoreUser(id: $id) { ${USER_FIELDS} } }`;
const listIds = `query($includeDeleted: Boolean!, $onlyDeleted: Boolean!) {
  users(first: 100, includeDeleted: $includeDeleted, onlyDeleted: $onlyDeleted) { nodes { id } }
}`;

async function listedIds(mode: { includeDeleted?: boolean; onlyDeleted?: boolean }): Promise<string[]> {
  const response = await server.gql(listIds, { includeDeleted: false, onlyDeleted: false, ...mode });
  return response.data.users.nodes.map((node: { id: string }) => node.id);
}

async function restoreUser(id: string) {
  return server.gql<{ restoreUser: UserView }>(restoreMutation, { id });
}

describe('deleting a user moves it to the trash', () => {
  it('returns the trashed user with deletedAt set, isDeleted true and the version incremented', async () => {
    const user = await createUser(server);
    const trashed = await deleteUser(server, user.id, 'asked to leave');
    expect(trashed).toMatchObject({ id: user.id, username: user.username, isDeleted: true, version: 2 });
    expect(new Date(trashed.deletedAt!).getTime()).toBeGreaterThanOrEqual(new Date(user.createdAt).getTime());
  });

  it('keeps the row in the database with its reason: nothing is lost', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id, 'duplicate account');
    const stored = await server.sql.query('select username, deleted_at, delete_reason, deletion_id from users where id = $1', [user.id]);
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]).toMatchObject({ username: user.username, delete_reason: 'duplicate account' });
    expect(stored.rows[0].deleted_at).toBeInstanceOf(Date);
    expect(stored.rows[0].deletion_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('hides the trashed user from user(id) and users, unless includeDeleted is asked for', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    expect((await server.gql(userQuery, { id: user.id })).data.user).toBeNull();
    expect((await server.gql(userQuery, { id: user.id, includeDeleted: true })).data.user).toMatchObject({ id: user.id, isDeleted: true });
    expect(await listedIds({})).not.toContain(user.id);
    expect(await listedIds({ includeDeleted: true })).toContain(user.id);
    expect(await listedIds({ onlyDeleted: true })).toContain(user.id);
  });

  it('lists only trashed users with onlyDeleted, never live ones', async () => {
    const live = await createUser(server);
    const trashed = await createUser(server);
    await deleteUser(server, trashed.id);
    const ids = await listedIds({ onlyDeleted: true });
    expect(ids).toContain(trashed.id);
    expect(ids).not.toContain(live.id);
  });

  it('returns an already trashed user unchanged, without re-stamping deletedAt', async () => {
    const user = await createUser(server);
    const first = await deleteUser(server, user.id, 'first');
    const again = await deleteUser(server, user.id, 'second');
    expect(again).toEqual(first);
    const stored = await server.sql.query('select delete_reason from users where id = $1', [user.id]);
    expect(stored.rows[0].delete_reason).toBe('first');
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of ['01a22707-0000-7000-8000-000000000000', 'nope']) {
      const error = onlyError(await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id }));
      expect(error.code).toBe('NOT_FOUND');
    }
  });

  it('rejects a reason over 500 characters with BAD_USER_INPUT and trashes nothing', async () => {
    const user = await createUser(server);
    const error = onlyError(await server.gql(`mutation($id: ID!, $r: String) { deleteUser(id: $id, reason: $r) { id } }`, { id: user.id, r: 'x'.repeat(501) }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'reason' } });
    expect((await server.gql(userQuery, { id: user.id })).data.user).not.toBeNull();
  });
});

describe('restoring a user', () => {
  it('brings it back: deletedAt null, listed again, version incremented', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    const response = await restoreUser(user.id);
    expect(response.data?.restoreUser).toMatchObject({ id: user.id, deletedAt: null, isDeleted: false, version: 3 });
    expect(await listedIds({})).toContain(user.id);
    expect(await listedIds({ onlyDeleted: true })).not.toContain(user.id);
    const stored = await server.sql.query('select deleted_at, delete_reason, deletion_id from users where id = $1', [user.id]);
    expect(stored.rows[0]).toEqual({ deleted_at: null, delete_reason: null, deletion_id: null });
  });

  it('returns a live user unchanged', async () => {
    const user = await createUser(server);
    const response = await restoreUser(user.id);
    expect(response.data?.restoreUser).toEqual(user);
  });

  it('fails with CONFLICT on username when a live user took it meanwhile, and changes nothing', async () => {
    const user = await createUser(server);
    const trashed = await deleteUser(server, user.id);
    const taker = await createUser(server, { username: user.username.toUpperCase() });
    const error = onlyError(await restoreUser(user.id));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username', conflictingId: taker.id } });
    expect((await server.gql(userQuery, { id: user.id, includeDeleted: true })).data.user).toEqual(trashed);
  });

  it('fails with CONFLICT on email when a live user took it meanwhile, and changes nothing', async () => {
    const user = await createUser(server);
    const trashed = await deleteUser(server, user.id);
    await createUser(server, { email: user.email.toUpperCase() });
    const error = onlyError(await restoreUser(user.id));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'email' } });
    expect((await server.gql(userQuery, { id: user.id, includeDeleted: true })).data.user).toEqual(trashed);
  });

  it('succeeds once the clashing user is itself trashed', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    const taker = await createUser(server, { username: user.username });
    expect(onlyError(await restoreUser(user.id)).code).toBe('CONFLICT');
    await deleteUser(server, taker.id);
    expect((await restoreUser(user.id)).data?.restoreUser.isDeleted).toBe(false);
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of ['01a22707-0000-7000-8000-000000000000', 'x']) {
      expect(onlyError(await restoreUser(id)).code).toBe('NOT_FOUND');
    }
  });
});

describe('errors a client can rely on', () => {
  it('masks an unexpected failure as INTERNAL_SERVER_ERROR without leaking details', async () => {
    const user = await createUser(server);
    await server.sql.query('alter table users rename column deleted_at to deleted_at_gone');
    try {
      const response = await server.gql(userQuery, { id: user.id });
      const error = onlyError(response);
      expect(response.status).toBe(200);
      expect(error.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error.message).toBe('Internal server error');
      expect(JSON.stringify(response)).not.toMatch(/deleted_at|select|stacktrace/i);
    } finally {
      await server.sql.query('alter table users rename column deleted_at_gone to deleted_at');
    }
  });

  it('reports a malformed query as BAD_USER_INPUT, never as a server error', async () => {
    const response = await server.gql('{ users { nodes { id } ');
    expect(onlyError(response).code).toBe('BAD_USER_INPUT');
    const unknownField = await server.gql('{ users { nodes { nope } } }');
    expect(onlyError(unknownField).code).toBe('BAD_USER_INPUT');
  });
});
