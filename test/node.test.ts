import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberAuthorization } from './helpers/auth';
import { seedUsersWithPosts } from './helpers/seed';
import { createStatementCounter } from './helpers/sql-counter';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

const counter = createStatementCounter();
let server: TestServer;
let alice: UserView;
let bob: UserView;
let aliceAuth: string;
let livePost: string;
let trashedPost: string;
let bobPost: string;
let auditEventId: string;
let seededUsers: string[];

beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
  alice = await createUser(server, { username: 'alice_node' });
  bob = await createUser(server, { username: 'bob_node' });
  aliceAuth = await memberAuthorization(alice.id);
  const create = `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`;
  livePost = (await server.gql(create, { input: { authorId: alice.id, title: 'live', body: '' } })).data.createPost.id;
  trashedPost = (await server.gql(create, { input: { authorId: alice.id, title: 'trashed', body: '' } })).data.createPost.id;
  bobPost = (await server.gql(create, { input: { authorId: bob.id, title: 'bob', body: '' } })).data.createPost.id;
  await server.gqlAs(aliceAuth, `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: trashedPost });
  await deleteUser(server, bob.id);
  const events = await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 1) { nodes { id } } }`, { id: alice.id });
  auditEventId = events.data.auditEvents.nodes[0].id;
  seededUsers = await seedUsersWithPosts(server.sql, { prefix: 'node', users: 100, postsPerUser: 1 });
});
afterAll(() => server?.stop());

const nodeQuery = `query($id: ID!, $includeDeleted: Boolean! = false) {
  node(id: $id, includeDeleted: $includeDeleted) {
    __typename
    id
    ... on User { username isDeleted }
    ... on Post { title isDeleted author { id } }
    ... on AuditEvent { action entityId }
  }
}`;

const nodesQuery = `query($ids: [ID!]!, $includeDeleted: Boolean! = false) {
  nodes(ids: $ids, includeDeleted: $includeDeleted) { __typename id }
}`;

async function nodeAs(authorization: string | null | undefined, id: string, includeDeleted = false) {
  const response = authorization === undefined
    ? await server.gql(nodeQuery, { id, includeDeleted })
    : await server.gqlAs(authorization, nodeQuery, { id, includeDeleted });
  expect(response.errors).toBeUndefined();
  return response.data.node;
}

describe('node(id)', () => {
  it('refetches a user, a post or an audit event by the id the API gave it', async () => {
    expect(await nodeAs(null, alice.id)).toEqual({ __typename: 'User', id: alice.id, username: 'alice_node', isDeleted: false });
    expect(await nodeAs(null, livePost)).toEqual({ __typename: 'Post', id: livePost, title: 'live', isDeleted: false, author: { id: alice.id } });
    expect(await nodeAs(undefined, auditEventId)).toEqual({ __typename: 'AuditEvent', id: auditEventId, action: 'CREATE', entityId: alice.id });
  });

  it('is null for an unknown id and for an id that is not a UUID', async () => {
    expect(await nodeAs(undefined, '00000000-0000-7000-8000-000000000000')).toBeNull();
    expect(await nodeAs(undefined, 'User:42')).toBeNull();
  });

  it('hides trashed records unless includeDeleted is asked for, like user and post', async () => {
    expect(await nodeAs(undefined, bob.id)).toBeNull();
    expect(await nodeAs(undefined, trashedPost)).toBeNull();
    expect(await nodeAs(undefined, bob.id, true)).toMatchObject({ __typename: 'User', isDeleted: true });
    expect(await nodeAs(undefined, bobPost, true)).toMatchObject({ __typename: 'Post', isDeleted: true, author: { id: bob.id } });
  });

  it("a member sees its own trashed records with includeDeleted, and another's answer as missing", async () => {
    expect(await nodeAs(aliceAuth, trashedPost, true)).toMatchObject({ __typename: 'Post', id: trashedPost, isDeleted: true });
    expect(await nodeAs(aliceAuth, bob.id, true)).toBeNull();
    expect(await nodeAs(aliceAuth, bobPost, true)).toBeNull();
    expect(await nodeAs(aliceAuth, bob.id)).toBeNull();
  });

  it('anonymous callers asking for trashed records are told to sign in', async () => {
    expect(onlyError(await server.gqlAs(null, nodeQuery, { id: alice.id, includeDeleted: true })).code).toBe('UNAUTHENTICATED');
    expect(onlyError(await server.gqlAs(null, nodesQuery, { ids: [alice.id], includeDeleted: true })).code).toBe('UNAUTHENTICATED');
  });

  it('audit events are for admins only: null for members and anonymous callers', async () => {
    expect(await nodeAs(aliceAuth, auditEventId)).toBeNull();
    expect(await nodeAs(null, auditEventId)).toBeNull();
  });
});

describe('nodes(ids)', () => {
  it('answers in the order asked, with null for what is missing or hidden, and repeats for repeated ids', async () => {
    const ids = [livePost, 'nope', alice.id, bob.id, auditEventId, alice.id];
    const response = await server.gql(nodesQuery, { ids });
    expect(response.errors).toBeUndefined();
    expect(response.data.nodes).toEqual([
      { __typename: 'Post', id: livePost },
      null,
      { __typename: 'User', id: alice.id },
      null,
      { __typename: 'AuditEvent', id: auditEventId },
      { __typename: 'User', id: alice.id },
    ]);
    const asMember = await server.gqlAs(aliceAuth, nodesQuery, { ids, includeDeleted: true });
    expect(asMember.data.nodes.map((node: { id: string } | null) => node?.id ?? null)).toEqual([livePost, null, alice.id, null, null, alice.id]);
  });

  it('takes up to 100 ids; more is BAD_USER_INPUT', async () => {
    const ok = await server.gql(nodesQuery, { ids: seededUsers.slice(0, 100) });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.nodes.map((node: { id: string }) => node.id)).toEqual(seededUsers.slice(0, 100));
    const error = onlyError(await server.gql(nodesQuery, { ids: [...seededUsers.slice(0, 100), alice.id] }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'ids' } });
    expect((await server.gql(nodesQuery, { ids: [] })).data.nodes).toEqual([]);
  });
});

describe('node and nodes statement counts', () => {
  async function statementsFor(query: string, variables: Record<string, unknown>): Promise<number> {
    counter.reset();
    const response = await server.gql(query, variables);
    expect(response.errors).toBeUndefined();
    return counter.statements().length;
  }

  it('one statement per type looked in, whatever the number of ids', async () => {
    expect(await statementsFor(nodeQuery, { id: alice.id })).toBe(1);
    expect(await statementsFor(nodesQuery, { ids: seededUsers.slice(0, 2) })).toBe(1);
    expect(await statementsFor(nodesQuery, { ids: seededUsers.slice(0, 100) })).toBe(1);
    // Users first, then posts for the ids not found, then audit events: three at most.
    const mixed = [...seededUsers.slice(0, 97), livePost, auditEventId, '00000000-0000-7000-8000-000000000000'];
    expect(await statementsFor(nodesQuery, { ids: mixed })).toBe(3);
  });
});
