import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser, USER_FIELDS } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

describe('concurrent requests', () => {
  it('parallel deleteUser and restoreUser on one user leave it in one of the two states, every response well-formed', async () => {
    const user = await createUser(server);
    const calls = Array.from({ length: 24 }, (_, i) =>
      i % 2 === 0
        ? server.gql(`mutation($id: ID!) { deleteUser(id: $id) { ${USER_FIELDS} } }`, { id: user.id })
        : server.gql(`mutation($id: ID!) { restoreUser(id: $id) { ${USER_FIELDS} } }`, { id: user.id }),
    );
    const responses = await Promise.all(calls);
    for (const response of responses) {
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      const returned = response.data.deleteUser ?? response.data.restoreUser;
      expect(returned.id).toBe(user.id);
      expect(returned.isDeleted).toBe(returned.deletedAt !== null);
    }
    const stored = await server.sql.query('select deleted_at, deletion_id, version from users where id = $1', [user.id]);
    const row = stored.rows[0];
    // Either live with no trash columns, or trashed with both set: never half of each.
    expect(row.deleted_at === null).toBe(row.deletion_id === null);
    // No change was lost: the stored version is the newest any response reported, and
    // the state matches the response that reported it.
    const returned = responses.map((response) => response.data.deleteUser ?? response.data.restoreUser);
    const newest = returned.reduce((a, b) => (b.version > a.version ? b : a));
    expect(row.version).toBe(newest.version);
    expect(row.deleted_at !== null).toBe(newest.isDeleted);
  });

  it('parallel createUser with one new username gives exactly one success and CONFLICT for the rest', async () => {
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        server.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
          input: { username: i % 2 === 0 ? 'race_winner' : 'RACE_WINNER', email: `racer${i}@example.com` },
        }),
      ),
    );
    const successes = responses.filter((response) => response.data?.createUser);
    const failures = responses.filter((response) => response.errors);
    expect(successes).toHaveLength(1);
    expect(failures).toHaveLength(11);
    for (const failure of failures) {
      expect(failure.status).toBe(200);
      expect(failure.errors).toHaveLength(1);
      expect(failure.errors![0].extensions).toMatchObject({ code: 'CONFLICT', field: 'username' });
    }
    const stored = await server.sql.query(`select count(*)::int as n from users where lower(username) = 'race_winner'`);
    expect(stored.rows[0].n).toBe(1);
  });

  it('parallel updates with the same expectedVersion: exactly one applies', async () => {
    const user = await createUser(server);
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        server.gql(`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version displayName } }`, {
          id: user.id,
          input: { displayName: `writer ${i}`, expectedVersion: 1 },
        }),
      ),
    );
    const applied = responses.filter((response) => response.data?.updateUser);
    expect(applied).toHaveLength(1);
    expect(responses.filter((response) => response.errors?.[0]?.extensions?.code === 'CONFLICT')).toHaveLength(7);
    const stored = await server.sql.query('select version, display_name from users where id = $1', [user.id]);
    expect(stored.rows[0]).toEqual({ version: 2, display_name: applied[0].data.updateUser.displayName });
  });
});
