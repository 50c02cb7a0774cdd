import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, USER_FIELDS, type UserView } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const createMutation = `mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`;
const updateMutation = `mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { ${USER_FIELDS} } }`;
const userQuery = `query($id: ID!, $includeDeleted: Boolean! = false) { user(id: $id, includeDeleted: $includeDeleted) { ${USER_FIELDS} } }`;

describe('creating users', () => {
  it('returns the new user with a UUIDv7 id, version 1 and no deletedAt', async () => {
    const user = await createUser(server, { username: 'Grace.Hopper', email: 'grace@example.com', displayName: 'Grace' });
    expect(user).toMatchObject({
      username: 'Grace.Hopper',
      email: 'grace@example.com',
      displayName: 'Grace',
      version: 1,
      deletedAt: null,
      isDeleted: false,
    });
    expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(user.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('ids of users created later sort after earlier ones', async () => {
    const first = await createUser(server);
    const second = await createUser(server);
    expect(second.id > first.id).toBe(true);
  });

  it.each([
    ['username', { username: 'ab' }],
    ['username', { username: 'a'.repeat(33) }],
    ['username', { username: 'has space' }],
    ['username', { username: 'ünïcode' }],
    ['email', { email: 'not-an-email' }],
    ['displayName', { displayName: 'x'.repeat(101) }],
  ])('rejects an invalid %s with BAD_USER_INPUT naming the field', async (field, override) => {
    const response = await server.gql(createMutation, {
      input: { username: 'valid_name', email: 'valid@example.com', ...override },
    });
    const error = onlyError(response);
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe(field);
    expect(error.message).toContain(field);
    const stored = await server.sql.query('select count(*)::int as n from users where username = $1', ['valid_name']);
    expect(stored.rows[0].n).toBe(0);
  });

  it('accepts boundary lengths: 3 and 32 character usernames, a 100 character display name', async () => {
    await createUser(server, { username: 'abc' });
    await createUser(server, { username: 'b'.repeat(32), displayName: 'd'.repeat(100) });
  });

  it('rejects a username taken by a live user, ignoring case, with CONFLICT on username', async () => {
    await createUser(server, { username: 'Taken_Name' });
    const error = onlyError(await server.gql(createMutation, { input: { username: 'taken_NAME', email: 'other1@example.com' } }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username' } });
  });

  it('rejects an email taken by a live user, ignoring case, with CONFLICT on email', async () => {
    await createUser(server, { email: 'Shared@Example.com' });
    const error = onlyError(await server.gql(createMutation, { input: { username: 'fresh_name', email: 'shared@example.COM' } }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'email' } });
  });

  it('lets a new user take the username and email of a trashed user', async () => {
    const old = await createUser(server, { username: 'recycled', email: 'recycled@example.com' });
    await deleteUser(server, old.id);
    const fresh = await createUser(server, { username: 'Recycled', email: 'RECYCLED@example.com' });
    expect(fresh.id).not.toBe(old.id);
  });
});

describe('reading one user', () => {
  it('finds a live user by id', async () => {
    const user = await createUser(server);
    const response = await server.gql<{ user: UserView }>(userQuery, { id: user.id });
    expect(response.data?.user).toEqual(user);
  });

  it('answers null for an unknown id and for a string that is not a UUID', async () => {
    for (const id of ['01a22707-0000-7000-8000-000000000000', 'not-a-uuid', '']) {
      const response = await server.gql(userQuery, { id });
      expect(response.errors).toBeUndefined();
      expect(response.data?.user).toBeNull();
    }
  });
});

describe('updating users', () => {
  it('changes the given fields only and increments the version', async () => {
    const user = await createUser(server, { displayName: 'Before' });
    const response = await server.gql<{ updateUser: UserView }>(updateMutation, { id: user.id, input: { displayName: 'After' } });
    expect(response.data?.updateUser).toMatchObject({ username: user.username, email: user.email, displayName: 'After', version: 2 });
    expect(new Date(response.data!.updateUser.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(user.updatedAt).getTime());
  });

  it('clears displayName when it is set to null', async () => {
    const user = await createUser(server, { displayName: 'Someone' });
    const response = await server.gql<{ updateUser: UserView }>(updateMutation, { id: user.id, input: { displayName: null } });
    expect(response.data?.updateUser.displayName).toBeNull();
  });

  it('applies an update whose expectedVersion matches', async () => {
    const user = await createUser(server);
    const response = await server.gql<{ updateUser: UserView }>(updateMutation, {
      id: user.id,
      input: { username: `${user.username}_v`, expectedVersion: 1 },
    });
    expect(response.data?.updateUser).toMatchObject({ username: `${user.username}_v`, version: 2 });
  });

  it('rejects a stale expectedVersion with CONFLICT and changes nothing', async () => {
    const user = await createUser(server);
    await server.gql(updateMutation, { id: user.id, input: { displayName: 'first edit' } });
    const error = onlyError(await server.gql(updateMutation, { id: user.id, input: { displayName: 'lost edit', expectedVersion: 1 } }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'expectedVersion' } });
    const after = await server.gql<{ user: UserView }>(userQuery, { id: user.id });
    expect(after.data?.user).toMatchObject({ displayName: 'first edit', version: 2 });
  });

  it('rejects a username held by another live user with CONFLICT and changes nothing', async () => {
    const holder = await createUser(server);
    const user = await createUser(server);
    const error = onlyError(await server.gql(updateMutation, { id: user.id, input: { username: holder.username.toUpperCase() } }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username' } });
    const after = await server.gql<{ user: UserView }>(userQuery, { id: user.id });
    expect(after.data?.user).toEqual(user);
  });

  it('rejects invalid input with BAD_USER_INPUT', async () => {
    const user = await createUser(server);
    const error = onlyError(await server.gql(updateMutation, { id: user.id, input: { email: 'nope' } }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'email' } });
  });

  it('refuses to update a trashed user with PRECONDITION_FAILED', async () => {
    const user = await createUser(server);
    const trashed = await deleteUser(server, user.id);
    const error = onlyError(await server.gql(updateMutation, { id: user.id, input: { displayName: 'x' } }));
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.message).toMatch(/restore it first/);
    const after = await server.gql<{ user: UserView }>(userQuery, { id: user.id, includeDeleted: true });
    expect(after.data?.user).toEqual(trashed);
  });

  it('answers NOT_FOUND for an unknown id and for a malformed one', async () => {
    for (const id of ['01a22707-0000-7000-8000-000000000000', '42']) {
      const error = onlyError(await server.gql(updateMutation, { id, input: { displayName: 'x' } }));
      expect(error.code).toBe('NOT_FOUND');
    }
  });
});
