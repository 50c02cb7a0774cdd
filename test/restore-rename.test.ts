import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberAuthorization } from './helpers/auth';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

/** Restores with onConflict: RENAME: free variants of usernames, never of emails. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const RESTORE_USER = `mutation($id: ID!, $onConflict: OnConflict!) { restoreUser(id: $id, onConflict: $onConflict) { id username isDeleted } }`;
const RENAMES = 'renames { field from to item { __typename ... on User { id username } } }';

let names = 0;
/** A fresh username base, unique in this file's database. */
function freshName(): string {
  names += 1;
  return `ada${process.pid % 1000}x${names}`;
}

/** A trashed user whose username a live user has taken since. */
async function trashedUserWhoseNameWasTaken(username = freshName()): Promise<{ trashed: UserView; taker: UserView }> {
  const trashed = await createUser(server, { username });
  await deleteUser(server, trashed.id);
  const taker = await createUser(server, { username });
  return { trashed, taker };
}

async function storedUser(id: string) {
  const { rows } = await server.sql.query(`select username, email, deleted_at, version from users where id = $1`, [id]);
  return rows[0];
}

describe('restoreUser(onConflict: RENAME)', () => {
  it('gives a clashing username its first free variant and returns the user with it', async () => {
    const { trashed } = await trashedUserWhoseNameWasTaken();
    const response = await server.gql(RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' });
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreUser).toEqual({ id: trashed.id, username: `${trashed.username}-restored`, isDeleted: false });
    expect(await storedUser(trashed.id)).toMatchObject({ username: `${trashed.username}-restored`, deleted_at: null, version: 3 });
  });

  it('skips variants that live users hold, ignoring case', async () => {
    const { trashed } = await trashedUserWhoseNameWasTaken();
    await createUser(server, { username: `${trashed.username}-RESTORED` });
    const response = await server.gql(RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' });
    expect(response.data.restoreUser.username).toBe(`${trashed.username}-restored-2`);
  });

  it('cuts a long username so that the variant stays within 32 characters of the allowed ones', async () => {
    const long = `${freshName()}_abcdefghijklmnopqrstuvwxyz`.slice(0, 32);
    const { trashed } = await trashedUserWhoseNameWasTaken(long);
    const username = (await server.gql(RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' })).data.restoreUser.username;
    expect(username).toBe(`${long.slice(0, 23)}-restored`);
    expect(username).toMatch(/^[A-Za-z0-9_.-]{3,32}$/);
  });

  it('never renames an email: an email clash stays CONFLICT and nothing changes', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    await createUser(server, { username: user.username, email: user.email.toUpperCase() });
    const before = await storedUser(user.id);
    const error = onlyError(await server.gql(RESTORE_USER, { id: user.id, onConflict: 'RENAME' }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'email' } });
    expect(await storedUser(user.id)).toEqual(before);
  });

  it('with the default FAIL, a clash is still CONFLICT', async () => {
    const { trashed, taker } = await trashedUserWhoseNameWasTaken();
    const error = onlyError(await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: trashed.id }));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username', conflictingId: taker.id } });
  });

  it('records the rename on the RESTORE audit event, and a purge of the record clears it', async () => {
    const { trashed } = await trashedUserWhoseNameWasTaken();
    await server.gql(RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' });
    const eventsOf = async () =>
      (
        await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 10) { nodes { action renames { entityType entityId field from to } } } }`, {
          id: trashed.id,
        })
      ).data.auditEvents.nodes;
    const [restore] = await eventsOf();
    expect(restore).toEqual({
      action: 'RESTORE',
      renames: [{ entityType: 'User', entityId: trashed.id, field: 'username', from: trashed.username, to: `${trashed.username}-restored` }],
    });

    await deleteUser(server, trashed.id);
    expect((await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: trashed.id })).errors).toBeUndefined();
    const events = await eventsOf();
    expect(events.map((event: { action: string }) => event.action)).toContain('RESTORE');
    for (const event of events) expect(event.renames).toEqual([]);
    const { rows } = await server.sql.query(`select count(*)::int as n from audit_events where entity_id = $1 and renames is not null`, [trashed.id]);
    expect(rows[0].n).toBe(0);
  });

  it('concurrent RENAME restores never pick the same name: the unique index decides, and the loser picks again', async () => {
    const username = freshName();
    const trashed: UserView[] = [];
    for (let index = 0; index < 3; index += 1) {
      const user = await createUser(server, { username });
      await deleteUser(server, user.id);
      trashed.push(user);
    }
    await createUser(server, { username });
    const responses = await Promise.all(trashed.map((user) => server.gql(RESTORE_USER, { id: user.id, onConflict: 'RENAME' })));
    for (const response of responses) expect(response.errors).toBeUndefined();
    const picked = responses.map((response) => response.data.restoreUser.username).sort();
    expect(picked).toEqual([`${username}-restored`, `${username}-restored-2`, `${username}-restored-3`]);
  });

  it('anonymous callers are told to sign in; members may not restore users at all', async () => {
    const { trashed } = await trashedUserWhoseNameWasTaken();
    const member = await createUser(server);
    expect(onlyError(await server.gqlAs(null, RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' })).code).toBe('UNAUTHENTICATED');
    const auth = await memberAuthorization(member.id);
    expect(onlyError(await server.gqlAs(auth, RESTORE_USER, { id: trashed.id, onConflict: 'RENAME' })).code).toBe('FORBIDDEN');
  });
});

describe('restorePreview(onConflict: RENAME)', () => {
  const PREVIEW = `query($id: ID, $deletionId: ID, $onConflict: OnConflict!) {
    restorePreview(id: $id, deletionId: $deletionId, onConflict: $onConflict) { restorable conflicts { field } ${RENAMES} }
  }`;

  it('shows the names a restore would pick, as restorable, and changes nothing', async () => {
    const { trashed } = await trashedUserWhoseNameWasTaken();
    const before = await storedUser(trashed.id);
    const renamed = (await server.gql(PREVIEW, { id: trashed.id, onConflict: 'RENAME' })).data.restorePreview;
    expect(renamed).toEqual({
      restorable: true,
      conflicts: [],
      renames: [{ field: 'username', from: trashed.username, to: `${trashed.username}-restored`, item: { __typename: 'User', id: trashed.id, username: trashed.username } }],
    });
    const failing = (await server.gql(PREVIEW, { id: trashed.id, onConflict: 'FAIL' })).data.restorePreview;
    expect(failing).toEqual({ restorable: false, conflicts: [{ field: 'username' }], renames: [] });
    expect(await storedUser(trashed.id)).toEqual(before);
  });

  it('keeps an email clash among the conflicts', async () => {
    const user = await createUser(server);
    await deleteUser(server, user.id);
    await createUser(server, { username: user.username, email: user.email });
    const preview = (await server.gql(PREVIEW, { id: user.id, onConflict: 'RENAME' })).data.restorePreview;
    expect(preview.restorable).toBe(false);
    expect(preview.conflicts).toEqual([{ field: 'email' }]);
    expect(preview.renames.map((rename: { field: string }) => rename.field)).toEqual(['username']);
  });
});

describe('restoreDeletion(onConflict: RENAME)', () => {
  it('renames every clashing user of a bulk deletion, never to a name another restored user brings back', async () => {
    const base = freshName();
    const first = await createUser(server, { username: base });
    const second = await createUser(server, { username: `${base}-restored` });
    const other = await createUser(server);
    const bulk = await server.gql(`mutation($ids: [ID!]!) { deleteUsers(ids: $ids) { deletionId } }`, { ids: [first.id, second.id, other.id] });
    const deletionId = bulk.data.deleteUsers.deletionId;
    await createUser(server, { username: base });

    const preview = await server.gql(`query($d: ID!) { restorePreview(deletionId: $d, onConflict: RENAME) { restorable renames { from to } } }`, { d: deletionId });
    expect(preview.data.restorePreview).toEqual({ restorable: true, renames: [{ from: base, to: `${base}-restored-2` }] });

    const response = await server.gql(`mutation($d: ID!) { restoreDeletion(deletionId: $d, onConflict: RENAME) { restored { __typename } ${RENAMES} } }`, {
      d: deletionId,
    });
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreDeletion.restored).toHaveLength(3);
    expect(response.data.restoreDeletion.renames).toEqual([
      { field: 'username', from: base, to: `${base}-restored-2`, item: { __typename: 'User', id: first.id, username: `${base}-restored-2` } },
    ]);
    expect((await storedUser(first.id)).username).toBe(`${base}-restored-2`);
    expect((await storedUser(second.id)).username).toBe(`${base}-restored`);

    const events = await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 1) { nodes { action renames { from to } } } }`, { id: first.id });
    expect(events.data.auditEvents.nodes).toEqual([{ action: 'RESTORE', renames: [{ from: base, to: `${base}-restored-2` }] }]);
  });
});
