import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID, adminAuthorization, memberAuthorization } from './helpers/auth';
import { startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

/**
 * The authorization matrix, every row and column, through HTTP with real
 * tokens: anonymous, a member acting on its own records, a member acting on
 * another's, and an admin.
 */
let server: TestServer;
let admin: string;
let alice: UserView; // a member
let bob: UserView; // another member
let aliceAuth: string;
let bobAuth: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await adminAuthorization();
  alice = await createUser(server);
  bob = await createUser(server);
  aliceAuth = await memberAuthorization(alice.id);
  bobAuth = await memberAuthorization(bob.id);
});
afterAll(() => server?.stop());

type Caller = 'anonymous' | 'alice' | 'bob' | 'admin';
const authOf = (caller: Caller) => ({ anonymous: null, alice: aliceAuth, bob: bobAuth, admin })[caller];

function as(caller: Caller, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  return server.gqlAs(authOf(caller), query, variables);
}

function codeOf(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

async function createPost(authorId: string): Promise<string> {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title: 'mine', body: '' },
  });
  return response.data.createPost.id;
}

async function trashPost(id: string): Promise<void> {
  await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id });
}

const idsOf = (nodes: Array<{ id: string }>) => nodes.map((node) => node.id);

describe('reading live users and posts: everyone', () => {
  it.each<Caller>(['anonymous', 'alice', 'admin'])('%s reads users, posts, user(id) and post(id)', async (caller) => {
    const post = await createPost(alice.id);
    const response = await as(caller, `query($u: ID!, $p: ID!) { users(first: 100) { nodes { id } } posts(first: 100) { nodes { id } } user(id: $u) { id } post(id: $p) { id author { id } } }`, { u: alice.id, p: post });
    expect(response.errors).toBeUndefined();
    expect(idsOf(response.data.users.nodes)).toContain(alice.id);
    expect(idsOf(response.data.posts.nodes)).toContain(post);
    expect(response.data.user.id).toBe(alice.id);
    expect(response.data.post.author.id).toBe(alice.id);
  });
});

describe('includeDeleted / onlyDeleted on users', () => {
  it('anonymous: UNAUTHENTICATED', async () => {
    for (const query of ['{ users(includeDeleted: true) { totalCount } }', '{ users(onlyDeleted: true) { totalCount } }']) {
      expect(codeOf(await as('anonymous', query))).toBe('UNAUTHENTICATED');
    }
    expect(codeOf(await as('anonymous', `query($id: ID!) { user(id: $id, includeDeleted: true) { id } }`, { id: alice.id }))).toBe('UNAUTHENTICATED');
  });

  it('a member sees its own trashed user only; others are not listed and answer null', async () => {
    const carol = await createUser(server);
    const dave = await createUser(server);
    await deleteUser(server, carol.id);
    await deleteUser(server, dave.id);
    const carolAuth = await memberAuthorization(carol.id);
    const listed = await server.gqlAs(carolAuth, '{ trashed: users(onlyDeleted: true, first: 100) { totalCount nodes { id } } all: users(includeDeleted: true, first: 100) { nodes { id } } }');
    expect(idsOf(listed.data.trashed.nodes)).toEqual([carol.id]);
    expect(listed.data.trashed.totalCount).toBe(1);
    expect(idsOf(listed.data.all.nodes)).toContain(carol.id);
    expect(idsOf(listed.data.all.nodes)).not.toContain(dave.id);
    expect(idsOf(listed.data.all.nodes)).toContain(alice.id);
    const own = await server.gqlAs(carolAuth, `query($id: ID!) { user(id: $id, includeDeleted: true) { id } }`, { id: carol.id });
    expect(own.data.user.id).toBe(carol.id);
    const other = await server.gqlAs(carolAuth, `query($id: ID!) { user(id: $id, includeDeleted: true) { id } }`, { id: dave.id });
    expect(other.errors).toBeUndefined();
    expect(other.data.user).toBeNull();
  });

  it('an admin sees every trashed user', async () => {
    const erin = await createUser(server);
    await deleteUser(server, erin.id);
    const response = await as('admin', '{ users(onlyDeleted: true, first: 100) { nodes { id } } }');
    expect(idsOf(response.data.users.nodes)).toContain(erin.id);
  });
});

describe('includeDeleted / onlyDeleted on posts', () => {
  it('anonymous: UNAUTHENTICATED, also on User.posts', async () => {
    expect(codeOf(await as('anonymous', '{ posts(onlyDeleted: true) { totalCount } }'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await as('anonymous', '{ users { nodes { posts(includeDeleted: true) { totalCount } } } }'))).toBe('UNAUTHENTICATED');
  });

  it("a member lists its own trashed posts; others' trashed posts are simply not listed", async () => {
    const mine = await createPost(alice.id);
    const theirs = await createPost(bob.id);
    await trashPost(mine);
    await trashPost(theirs);
    const response = await as('alice', `query($bob: ID!) {
      trashed: posts(onlyDeleted: true, first: 100) { totalCount nodes { id } }
      bobs: posts(authorId: $bob, includeDeleted: true, first: 100) { totalCount nodes { id } }
      users(first: 100) { nodes { id posts(onlyDeleted: true) { totalCount nodes { id } } } }
    }`, { bob: bob.id });
    expect(idsOf(response.data.trashed.nodes)).toContain(mine);
    expect(idsOf(response.data.trashed.nodes)).not.toContain(theirs);
    expect(response.data.trashed.totalCount).toBe(response.data.trashed.nodes.length);
    expect(idsOf(response.data.bobs.nodes)).not.toContain(theirs);
    expect(response.data.bobs.totalCount).toBe(response.data.bobs.nodes.length);
    const nested = Object.fromEntries(response.data.users.nodes.map((user: any) => [user.id, user.posts]));
    expect(idsOf(nested[alice.id].nodes)).toContain(mine);
    expect(nested[bob.id]).toEqual({ totalCount: 0, nodes: [] });
  });

  it('an admin lists every trashed post', async () => {
    const theirs = await createPost(bob.id);
    await trashPost(theirs);
    const response = await as('admin', '{ posts(onlyDeleted: true, first: 100) { nodes { id } } }');
    expect(idsOf(response.data.posts.nodes)).toContain(theirs);
  });
});

describe('trash and restorePreview', () => {
  it('anonymous: UNAUTHENTICATED', async () => {
    expect(codeOf(await as('anonymous', '{ trash { totalCount } }'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await as('anonymous', `query($id: ID!) { restorePreview(id: $id) { restorable } }`, { id: alice.id }))).toBe('UNAUTHENTICATED');
  });

  it('a member sees its own items only, and previews only its own', async () => {
    const mine = await createPost(alice.id);
    const theirs = await createPost(bob.id);
    await trashPost(mine);
    await trashPost(theirs);
    const listed = await as('alice', '{ trash(first: 100) { totalCount nodes { ... on Post { id author { id } } ... on User { id } } } }');
    expect(idsOf(listed.data.trash.nodes)).toContain(mine);
    expect(idsOf(listed.data.trash.nodes)).not.toContain(theirs);
    expect(listed.data.trash.totalCount).toBe(listed.data.trash.nodes.length);
    const own = await as('alice', `query($id: ID!) { restorePreview(id: $id) { restorable } }`, { id: mine });
    expect(own.data.restorePreview.restorable).toBe(true);
    expect(codeOf(await as('alice', `query($id: ID!) { restorePreview(id: $id) { restorable } }`, { id: theirs }))).toBe('NOT_FOUND');
  });

  it('an admin sees and previews everything', async () => {
    const theirs = await createPost(bob.id);
    await trashPost(theirs);
    const listed = await as('admin', '{ trash(first: 100) { nodes { ... on Post { id } } } }');
    expect(idsOf(listed.data.trash.nodes.filter((node: object) => 'id' in node))).toContain(theirs);
    expect((await as('admin', `query($id: ID!) { restorePreview(id: $id) { restorable } }`, { id: theirs })).data.restorePreview.restorable).toBe(true);
  });
});

describe('auditEvents: admins only', () => {
  it.each<[Caller, string | undefined]>([
    ['anonymous', 'UNAUTHENTICATED'],
    ['alice', 'FORBIDDEN'],
    ['admin', undefined],
  ])('%s gets %s', async (caller, code) => {
    const response = await as(caller, '{ auditEvents { totalCount } }');
    expect(codeOf(response)).toBe(code);
    if (!code) expect(response.data.auditEvents.totalCount).toBeGreaterThan(0);
  });
});

describe('user mutations', () => {
  it.each<[Caller, string | undefined]>([
    ['anonymous', 'UNAUTHENTICATED'],
    ['alice', 'FORBIDDEN'],
    ['admin', undefined],
  ])('createUser by %s: %s', async (caller, code) => {
    const username = `made_by_${caller}`;
    const response = await as(caller, `mutation($u: String!, $e: String!) { createUser(input: { username: $u, email: $e }) { id } }`, {
      u: username,
      e: `${username}@example.com`,
    });
    expect(codeOf(response)).toBe(code);
    const stored = await server.sql.query('select count(*)::int as n from users where username = $1', [username]);
    expect(stored.rows[0].n).toBe(code ? 0 : 1);
  });

  it.each<[Caller, 'self' | 'other', string | undefined]>([
    ['anonymous', 'other', 'UNAUTHENTICATED'],
    ['alice', 'self', undefined],
    ['alice', 'other', 'FORBIDDEN'],
    ['admin', 'other', undefined],
  ])('updateUser and deleteUser by %s on %s: %s', async (caller, target, code) => {
    const subject = await createUser(server);
    const auth = caller === 'alice' && target === 'self' ? await memberAuthorization(subject.id) : authOf(caller);
    const updated = await server.gqlAs(auth, `mutation($id: ID!) { updateUser(id: $id, input: { displayName: "changed" }) { displayName } }`, { id: subject.id });
    expect(codeOf(updated)).toBe(code);
    const trashed = await server.gqlAs(auth, `mutation($id: ID!) { deleteUser(id: $id) { deletedBy } }`, { id: subject.id });
    expect(codeOf(trashed)).toBe(code);
    const { rows } = await server.sql.query('select display_name, deleted_at, deleted_by from users where id = $1', [subject.id]);
    if (code) {
      expect(rows[0]).toEqual({ display_name: null, deleted_at: null, deleted_by: null });
    } else {
      const actor = caller === 'admin' ? ADMIN_ID : subject.id;
      expect(trashed.data.deleteUser.deletedBy).toBe(actor);
      expect(rows[0]).toMatchObject({ display_name: 'changed', deleted_by: actor });
    }
  });

  it.each<[Caller, string | undefined]>([
    ['anonymous', 'UNAUTHENTICATED'],
    ['alice', 'FORBIDDEN'],
    ['admin', undefined],
  ])('restoreUser by %s, even of its own user: %s', async (caller, code) => {
    const subject = await createUser(server);
    const auth = caller === 'alice' ? await memberAuthorization(subject.id) : authOf(caller);
    await deleteUser(server, subject.id);
    const response = await server.gqlAs(auth, `mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: subject.id });
    // A member whose user is trashed may not write at all: FORBIDDEN either way.
    expect(codeOf(response)).toBe(code);
  });
});

describe('post mutations', () => {
  it.each<[Caller, 'self' | 'other', string | undefined]>([
    ['anonymous', 'other', 'UNAUTHENTICATED'],
    ['alice', 'self', undefined],
    ['alice', 'other', 'FORBIDDEN'],
    ['admin', 'other', undefined],
  ])('createPost by %s as %s: %s', async (caller, as_, code) => {
    const authorId = as_ === 'self' ? alice.id : bob.id;
    const title = `by ${caller} as ${as_}`;
    const response = await as(caller, `mutation($a: ID!, $t: String!) { createPost(input: { authorId: $a, title: $t, body: "" }) { id } }`, { a: authorId, t: title });
    expect(codeOf(response)).toBe(code);
    const stored = await server.sql.query('select count(*)::int as n from posts where title = $1', [title]);
    expect(stored.rows[0].n).toBe(code ? 0 : 1);
  });

  it.each<[Caller, 'own' | 'other', string | undefined]>([
    ['anonymous', 'other', 'UNAUTHENTICATED'],
    ['alice', 'own', undefined],
    ['alice', 'other', 'FORBIDDEN'],
    ['admin', 'other', undefined],
  ])('updatePost, deletePost and restorePost by %s on %s posts: %s', async (caller, whose, code) => {
    const post = await createPost(whose === 'own' ? alice.id : bob.id);
    const updated = await as(caller, `mutation($id: ID!) { updatePost(id: $id, input: { title: "edited" }) { id } }`, { id: post });
    expect(codeOf(updated)).toBe(code);
    const trashed = await as(caller, `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: post });
    expect(codeOf(trashed)).toBe(code);
    if (code) await trashPost(post);
    const restored = await as(caller, `mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: post });
    // Another member's trashed post answers as a missing one would.
    expect(codeOf(restored)).toBe(code === 'FORBIDDEN' ? 'NOT_FOUND' : code);
    const { rows } = await server.sql.query('select title, deleted_at from posts where id = $1', [post]);
    expect(rows[0].title).toBe(code ? 'mine' : 'edited');
    expect(rows[0].deleted_at === null).toBe(!code);
  });
});

describe('purgeUser, purgePost and emptyTrash: admins only', () => {
  it.each<[Caller, string | undefined]>([
    ['anonymous', 'UNAUTHENTICATED'],
    ['alice', 'FORBIDDEN'],
    ['admin', undefined],
  ])('%s gets %s and nothing is purged unless allowed', async (caller, code) => {
    const user = await createUser(server);
    const post = await createPost(alice.id);
    await deleteUser(server, user.id);
    await trashPost(post);
    expect(codeOf(await as(caller, `mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id }))).toBe(code);
    expect(codeOf(await as(caller, `mutation($id: ID!) { purgePost(id: $id) }`, { id: post }))).toBe(code);
    expect(codeOf(await as(caller, `mutation { emptyTrash(olderThan: "2000-01-01T00:00:00Z") }`))).toBe(code);
    const { rows } = await server.sql.query('select (select count(*)::int from users where id = $1) + (select count(*)::int from posts where id = $2) as n', [user.id, post]);
    expect(rows[0].n).toBe(code ? 2 : 0);
  });
});

describe('a member whose user is gone', () => {
  it('is refused every write with FORBIDDEN once its user is trashed, even with a valid token', async () => {
    const member = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const post = await createPost(member.id);
    await server.gqlAs(auth, `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: post });
    await deleteUser(server, member.id);
    for (const [query, variables] of [
      [`mutation($id: ID!) { updateUser(id: $id, input: { displayName: "x" }) { id } }`, { id: member.id }],
      [`mutation($a: ID!) { createPost(input: { authorId: $a, title: "t", body: "" }) { id } }`, { a: member.id }],
      [`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: post }],
    ] as const) {
      expect(codeOf(await server.gqlAs(auth, query, variables))).toBe('FORBIDDEN');
    }
  });

  it('is refused with FORBIDDEN once its user is purged', async () => {
    const member = await createUser(server);
    const auth = await memberAuthorization(member.id);
    await deleteUser(server, member.id);
    await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: member.id });
    const response = await server.gqlAs(auth, `mutation($a: ID!) { createPost(input: { authorId: $a, title: "t", body: "" }) { id } }`, { a: member.id });
    expect(codeOf(response)).toBe('FORBIDDEN');
  });
});

describe('the trash cannot be probed', () => {
  it("another member's trashed records answer exactly as missing ones", async () => {
    const post = await createPost(bob.id);
    await trashPost(post);
    const missing = '01a22707-0000-7000-8000-000000000000';
    const shape = (response: GraphQLResponse) => ({
      data: response.data,
      code: codeOf(response),
      message: response.errors?.[0]?.message.replace(/[0-9a-f-]{36}/g, '<id>'),
    });
    const probes = [
      `query($id: ID!) { post(id: $id, includeDeleted: true) { id } }`,
      `query($id: ID!) { restorePreview(id: $id) { restorable } }`,
      `mutation($id: ID!) { updatePost(id: $id, input: { title: "x" }) { id } }`,
      `mutation($id: ID!) { deletePost(id: $id) { id } }`,
      `mutation($id: ID!) { restorePost(id: $id) { id } }`,
    ];
    for (const probe of probes) {
      const trashed = await as('alice', probe, { id: post });
      const absent = await as('alice', probe, { id: missing });
      expect(shape(trashed)).toEqual(shape(absent));
    }
  });
});
