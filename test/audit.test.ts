import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID } from './helpers/auth';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const eventsQuery = `query($entityId: ID, $first: Int! = 100, $after: String) {
  auditEvents(entityId: $entityId, first: $first, after: $after) {
    totalCount
    nodes { id action entityType entityId deletionId actorId reason affected at }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function eventsFor(entityId: string) {
  const response = await server.gql(eventsQuery, { entityId });
  expect(response.errors).toBeUndefined();
  return response.data.auditEvents.nodes as Array<Record<string, any>>;
}

async function createPost(authorId: string) {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title: 'audited', body: 'text' },
  });
  return response.data.createPost.id as string;
}

async function totalEvents(): Promise<number> {
  const { rows } = await server.sql.query('select count(*)::int as n from audit_events');
  return rows[0].n;
}

describe('every change writes an audit event', () => {
  it('create, update, delete (with its cascade), restore and purge of a user, newest first', async () => {
    const user = await createUser(server);
    await createPost(user.id);
    await createPost(user.id);
    await server.gql(`mutation($id: ID!) { updateUser(id: $id, input: { displayName: "x" }) { id } }`, { id: user.id });
    const trashed = await server.gql(`mutation($id: ID!) { deleteUser(id: $id, reason: "spam") { deletionId } }`, { id: user.id });
    const deletionId = trashed.data.deleteUser.deletionId;
    await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: user.id });
    const again = await deleteUser(server, user.id);
    await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id });

    const events = await eventsFor(user.id);
    expect(events.map((event) => event.action)).toEqual(['PURGE', 'DELETE', 'RESTORE', 'DELETE', 'UPDATE', 'CREATE']);
    expect(events.every((event) => event.entityType === 'User' && event.entityId === user.id && event.actorId === ADMIN_ID)).toBe(true);
    const [purge, secondDelete, restore, firstDelete, update, create] = events;
    expect(create).toMatchObject({ affected: 1, deletionId: null, reason: null });
    expect(update).toMatchObject({ affected: 1 });
    expect(firstDelete).toMatchObject({ affected: 3, deletionId, reason: 'spam' });
    expect(restore).toMatchObject({ affected: 3, deletionId });
    expect(secondDelete.deletionId).not.toBe(deletionId);
    expect(purge).toMatchObject({ affected: 3, reason: null });
    expect(again).toBeDefined();
    const times = events.map((event) => new Date(event.at).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('a purge event keeps ids, counts and times only: no data of the purged record', async () => {
    const user = await createUser(server, { username: 'private_person', email: 'private@example.com' });
    await deleteUser(server, user.id, 'asked to be forgotten');
    await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id });
    const { rows } = await server.sql.query(`select * from audit_events where entity_id = $1 and action = 'PURGE'`, [user.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].reason).toBeNull();
    const everything = await server.sql.query(`select row_to_json(a)::text as json from audit_events a where entity_id = $1`, [user.id]);
    expect(everything.rows.map((row) => row.json).join()).not.toMatch(/private_person|private@example\.com/);
  });

  it('posts have their own events, with the post as entity', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    await server.gql(`mutation($id: ID!) { deletePost(id: $id, reason: "typo") { id } }`, { id: post });
    await server.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: post });
    const events = await eventsFor(post);
    expect(events.map((event) => [event.action, event.entityType, event.affected])).toEqual([
      ['RESTORE', 'Post', 1],
      ['DELETE', 'Post', 1],
      ['CREATE', 'Post', 1],
    ]);
  });
});

describe('an audit event shares the fate of its change', () => {
  it('a rejected create, update or restore writes no event', async () => {
    const holder = await createUser(server);
    const user = await createUser(server);
    await deleteUser(server, user.id);
    await createUser(server, { username: user.username });
    const before = await totalEvents();

    expect(onlyError(await server.gql(`mutation($u: String!) { createUser(input: { username: $u, email: "dup@example.com" }) { id } }`, { u: holder.username })).code).toBe('CONFLICT');
    expect(onlyError(await server.gql(`mutation($id: ID!) { updateUser(id: $id, input: { displayName: "y", expectedVersion: 7 }) { id } }`, { id: holder.id })).code).toBe('CONFLICT');
    expect(onlyError(await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: user.id })).code).toBe('CONFLICT');
    expect(await totalEvents()).toBe(before);
  });

  it('when the change fails after its event and cascade were written, all of it rolls back', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    // Fails the user's own UPDATE, which runs after the posts' cascade UPDATE and with the event's INSERT.
    await server.sql.query(`
      create function refuse_trash() returns trigger language plpgsql as $$
      begin raise exception 'refused by test trigger'; end $$;
      create trigger refuse_trash before update on users for each row
        when (new.id = '${user.id}'::uuid and new.deleted_at is not null) execute function refuse_trash();`);
    try {
      const before = await totalEvents();
      const response = await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: user.id });
      expect(onlyError(response).code).toBe('INTERNAL_SERVER_ERROR');
      expect(await totalEvents()).toBe(before);
      const { rows } = await server.sql.query(`select deleted_at, version from posts where id = $1`, [post]);
      expect(rows[0]).toEqual({ deleted_at: null, version: 1 });
    } finally {
      await server.sql.query('drop trigger refuse_trash on users; drop function refuse_trash();');
    }
  });
});

describe('listing audit events', () => {
  it('pages newest first with totalCount, and filters by entityId', async () => {
    const user = await createUser(server);
    for (let i = 0; i < 4; i += 1) {
      await server.gql(`mutation($id: ID!, $d: String) { updateUser(id: $id, input: { displayName: $d }) { id } }`, { id: user.id, d: `v${i}` });
    }
    const first = await server.gql(eventsQuery, { entityId: user.id, first: 3 });
    expect(first.data.auditEvents.totalCount).toBe(5);
    expect(first.data.auditEvents.nodes).toHaveLength(3);
    expect(first.data.auditEvents.pageInfo.hasNextPage).toBe(true);
    const second = await server.gql(eventsQuery, { entityId: user.id, first: 3, after: first.data.auditEvents.pageInfo.endCursor });
    expect(second.data.auditEvents.nodes.map((event: { action: string }) => event.action)).toEqual(['UPDATE', 'CREATE']);
    expect(second.data.auditEvents.pageInfo.hasNextPage).toBe(false);
  });

  it('an entityId that is not a UUID has no events', async () => {
    const response = await server.gql(eventsQuery, { entityId: 'nope' });
    expect(response.data.auditEvents).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('without entityId lists events of every record', async () => {
    const response = await server.gql('{ auditEvents(first: 100) { totalCount nodes { entityType } } }');
    expect(response.data.auditEvents.totalCount).toBe(await totalEvents());
    expect(new Set(response.data.auditEvents.nodes.map((event: { entityType: string }) => event.entityType))).toEqual(new Set(['User', 'Post']));
  });
});
