import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID } from './helpers/auth';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createPost, deletePost, findPost, POST_FIELDS, type PostView } from './helpers/posts';
import { TRASH_FIELDS, type TrashableView as Trashed } from './helpers/trashable';
import { createUser } from './helpers/users';

const UNKNOWN_ID = '01a22707-0000-7000-8000-000000000000';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

async function mutate<T>(field: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const response = await server.gql(query, variables);
  if (!response.data?.[field]) throw new Error(`${field} failed: ${JSON.stringify(response.errors)}`);
  return response.data[field];
}

function deleteUser(id: string, reason?: string): Promise<Trashed> {
  return mutate('deleteUser', `mutation($id: ID!, $reason: String) { deleteUser(id: $id, reason: $reason) { ${TRASH_FIELDS} } }`, { id, reason });
}

function restoreUser(id: string) {
  return server.gql(`mutation($id: ID!) { restoreUser(id: $id) { ${TRASH_FIELDS} } }`, { id });
}

function restorePost(id: string) {
  return server.gql(`mutation($id: ID!) { restorePost(id: $id) { ${POST_FIELDS} } }`, { id });
}

/** A post, live or trashed, that must exist. */
async function findAnyPost(id: string): Promise<PostView> {
  const post = await findPost(server, id, true);
  expect(post).not.toBeNull();
  return post!;
}

async function findUser(id: string): Promise<Trashed> {
  const response = await server.gql(`query($id: ID!) { user(id: $id, includeDeleted: true) { ${TRASH_FIELDS} } }`, { id });
  expect(response.errors).toBeUndefined();
  return response.data.user;
}

/** Everything stored about a user and its posts, to prove that a failed or read-only operation changed nothing. */
async function snapshot(userId: string) {
  const columns = 'id, version, updated_at, deleted_at, deleted_by, delete_reason, deletion_id, purge_at';
  const user = await server.sql.query(`select ${columns}, username, email from users where id = $1`, [userId]);
  const posts = await server.sql.query(`select ${columns}, title from posts where author_id = $1 order by id`, [userId]);
  return { user: user.rows, posts: posts.rows };
}

/** A user with posts A (trashed on its own before the user), B and C (live when the user is trashed). */
async function trashedUserWithPosts(reason?: string) {
  const user = await createUser(server);
  const a = await createPost(server, user.id);
  const b = await createPost(server, user.id);
  const c = await createPost(server, user.id);
  const aTrashed = await deletePost(server, a.id);
  const userTrashed = await deleteUser(user.id, reason);
  return { user, userTrashed, a, b, c, aTrashed };
}

describe('deleting a user', () => {
  it('trashes the user and its live posts as one deletion: same deletionId, deletedAt, reason and purgeAt', async () => {
    const user = await createUser(server);
    const b = await createPost(server, user.id);
    const c = await createPost(server, user.id);
    const trashed = await deleteUser(user.id, 'spam account');
    expect(trashed).toMatchObject({ id: user.id, isDeleted: true, deleteReason: 'spam account', deletedBy: ADMIN_ID });
    expect(trashed.deletionId).toMatch(/^[0-9a-f-]{36}$/);
    for (const post of [b, c]) {
      expect(await findAnyPost(post.id)).toMatchObject({
        isDeleted: true,
        deletionId: trashed.deletionId,
        deletedAt: trashed.deletedAt,
        deleteReason: 'spam account',
        deletedBy: ADMIN_ID,
        purgeAt: trashed.purgeAt,
      });
    }
  });

  it('records one DELETE event that counts the cascaded posts', async () => {
    const user = await createUser(server);
    await createPost(server, user.id);
    await createPost(server, user.id);
    const trashed = await deleteUser(user.id);
    const response = await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 10) { nodes { action affected deletionId } } }`, {
      id: user.id,
    });
    const deletes = response.data.auditEvents.nodes.filter((event: { action: string }) => event.action === 'DELETE');
    expect(deletes).toEqual([{ action: 'DELETE', affected: 3, deletionId: trashed.deletionId }]);
  });

  it('leaves a post trashed earlier on its own with its own deletionId and deletedAt', async () => {
    const { userTrashed, a, aTrashed } = await trashedUserWithPosts();
    const stored = await findAnyPost(a.id);
    expect(stored).toEqual(aTrashed);
    expect(stored.deletionId).not.toBe(userTrashed.deletionId);
    expect(new Date(stored.deletedAt!).getTime()).toBeLessThanOrEqual(new Date(userTrashed.deletedAt!).getTime());
  });

  it("does not touch other users' posts", async () => {
    const user = await createUser(server);
    const other = await createUser(server);
    await createPost(server, user.id);
    const untouched = await createPost(server, other.id);
    await deleteUser(user.id);
    expect(await findAnyPost(untouched.id)).toEqual(untouched);
  });

  it('increments the version of every cascaded post by one on delete and again on restore', async () => {
    const user = await createUser(server);
    const b = await createPost(server, user.id);
    const c = await createPost(server, user.id);
    await server.gql(`mutation($id: ID!) { updatePost(id: $id, input: { title: "edited" }) { version } }`, { id: c.id });
    const alone = await createPost(server, user.id);
    await deletePost(server, alone.id); // version 2, not part of the user's deletion
    expect((await findAnyPost(b.id)).version).toBe(1);
    expect((await findAnyPost(c.id)).version).toBe(2);

    await deleteUser(user.id);
    expect((await findAnyPost(b.id)).version).toBe(2);
    expect((await findAnyPost(c.id)).version).toBe(3);
    expect((await findAnyPost(alone.id)).version).toBe(2);

    expect((await restoreUser(user.id)).errors).toBeUndefined();
    expect((await findAnyPost(b.id)).version).toBe(3);
    expect((await findAnyPost(c.id)).version).toBe(4);
    expect((await findAnyPost(alone.id)).version).toBe(2);
  });
});

describe('restoring a user', () => {
  it('brings back exactly the posts its deletion took: B and C live again, A (trashed before) stays trashed', async () => {
    const { user, b, c, aTrashed } = await trashedUserWithPosts();
    const response = await restoreUser(user.id);
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreUser).toMatchObject({ id: user.id, isDeleted: false, deletedAt: null, deletionId: null, purgeAt: null });
    for (const post of [b, c]) {
      expect(await findAnyPost(post.id)).toMatchObject({ isDeleted: false, deletedAt: null, deletionId: null, deleteReason: null, purgeAt: null });
    }
    expect(await findAnyPost(aTrashed.id)).toEqual(aTrashed);

    const live = await server.gql(`query($id: ID!) { posts(authorId: $id, first: 10) { totalCount nodes { id } } }`, { id: user.id });
    expect(live.data.posts.totalCount).toBe(2);
    expect(live.data.posts.nodes.map((node: { id: string }) => node.id).sort()).toEqual([b.id, c.id].sort());
  });

  it('keeps a post trashed on its own after the author was restored in the trash through a later delete and restore of the author', async () => {
    const user = await createUser(server);
    const kept = await createPost(server, user.id);
    const later = await createPost(server, user.id);
    await deleteUser(user.id);
    expect((await restoreUser(user.id)).errors).toBeUndefined();
    expect((await findAnyPost(later.id)).isDeleted).toBe(false);

    const laterTrashed = await deletePost(server, later.id);
    const secondDeletion = await deleteUser(user.id);
    expect(await findAnyPost(later.id)).toEqual(laterTrashed);
    expect((await findAnyPost(kept.id)).deletionId).toBe(secondDeletion.deletionId);

    expect((await restoreUser(user.id)).errors).toBeUndefined();
    expect(await findAnyPost(later.id)).toEqual(laterTrashed);
    expect((await findAnyPost(kept.id)).isDeleted).toBe(false);
  });

  it('fails with CONFLICT on username when a live user took it (ignoring case), and changes nothing', async () => {
    const { user } = await trashedUserWithPosts();
    const taker = await createUser(server, { username: user.username.toUpperCase() });
    const before = await snapshot(user.id);
    expect(before.user[0].deleted_at).toBeInstanceOf(Date);
    expect(before.posts).toHaveLength(3);
    expect(before.posts.every((post) => post.deleted_at instanceof Date)).toBe(true);

    const error = onlyError(await restoreUser(user.id));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username', conflictingId: taker.id } });
    expect(await snapshot(user.id)).toEqual(before);
    expect((await findUser(taker.id)).isDeleted).toBe(false);
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) expect(onlyError(await restoreUser(id)).code).toBe('NOT_FOUND');
  });
});

describe('restoring a post', () => {
  it('fails with PRECONDITION_FAILED naming the trashed author, and changes nothing', async () => {
    const { user, a, b } = await trashedUserWithPosts();
    for (const post of [a, b]) {
      const before = await snapshot(user.id);
      const error = onlyError(await restorePost(post.id));
      expect(error.code).toBe('PRECONDITION_FAILED');
      expect(error.message).toContain(user.id);
      expect(error.extensions.blockedBy).toEqual([{ entityType: 'User', id: user.id }]);
      expect(await snapshot(user.id)).toEqual(before);
    }
  });

  it('succeeds for a post trashed on its own once its author is restored', async () => {
    const { user, a, aTrashed } = await trashedUserWithPosts();
    expect(onlyError(await restorePost(a.id)).code).toBe('PRECONDITION_FAILED');
    expect((await restoreUser(user.id)).errors).toBeUndefined();
    expect(await findAnyPost(a.id)).toEqual(aTrashed);

    const response = await restorePost(a.id);
    expect(response.errors).toBeUndefined();
    expect(response.data.restorePost).toMatchObject({ id: a.id, isDeleted: false, deletedAt: null, deletionId: null, version: aTrashed.version + 1 });
    expect((await findAnyPost(a.id)).isDeleted).toBe(false);
  });

  it('returns a live post unchanged', async () => {
    const user = await createUser(server);
    const post = await createPost(server, user.id);
    const response = await restorePost(post.id);
    expect(response.data.restorePost).toEqual(post);
  });
});

const previewQuery = `query($id: ID!) {
  restorePreview(id: $id) {
    restorable
    items { __typename ... on User { id } ... on Post { id } }
    conflicts { field value conflictingId item { __typename ... on User { id } ... on Post { id } } }
    blockedBy { __typename ... on User { id } ... on Post { id } }
  }
}`;

type PreviewItem = { __typename: string; id: string };
const byId = (a: PreviewItem, b: PreviewItem) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('restorePreview', () => {
  it('for a trashed user lists the user and exactly its cascaded posts, restorable, and changes nothing', async () => {
    const { user, b, c } = await trashedUserWithPosts();
    const before = await snapshot(user.id);
    const response = await server.gql(previewQuery, { id: user.id });
    expect(response.errors).toBeUndefined();
    const preview = response.data.restorePreview;
    expect(preview).toMatchObject({ restorable: true, conflicts: [], blockedBy: [] });
    const expected = [
      { __typename: 'User', id: user.id },
      { __typename: 'Post', id: b.id },
      { __typename: 'Post', id: c.id },
    ];
    expect([...preview.items].sort(byId)).toEqual(expected.sort(byId));
    expect(await snapshot(user.id)).toEqual(before);
  });

  it('reports a username clash: not restorable, one conflict naming the live holder', async () => {
    const { user } = await trashedUserWithPosts();
    const taker = await createUser(server, { username: user.username.toUpperCase() });
    const before = await snapshot(user.id);
    const response = await server.gql(previewQuery, { id: user.id });
    expect(response.errors).toBeUndefined();
    const preview = response.data.restorePreview;
    expect(preview.restorable).toBe(false);
    expect(preview.blockedBy).toEqual([]);
    expect(preview.conflicts).toEqual([
      { field: 'username', value: user.username, conflictingId: taker.id, item: { __typename: 'User', id: user.id } },
    ]);
    expect(await snapshot(user.id)).toEqual(before);
  });

  it('for a post whose author is trashed: not restorable, blocked by the author', async () => {
    const { user, a, b } = await trashedUserWithPosts();
    for (const post of [a, b]) {
      const before = await snapshot(user.id);
      const response = await server.gql(previewQuery, { id: post.id });
      expect(response.errors).toBeUndefined();
      expect(response.data.restorePreview).toEqual({
        restorable: false,
        items: [{ __typename: 'Post', id: post.id }],
        conflicts: [],
        blockedBy: [{ __typename: 'User', id: user.id }],
      });
      expect(await snapshot(user.id)).toEqual(before);
    }
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) expect(onlyError(await server.gql(previewQuery, { id })).code).toBe('NOT_FOUND');
  });

  it('agrees with what restoreUser then does', async () => {
    const { user, b, c, a } = await trashedUserWithPosts();
    const preview = (await server.gql(previewQuery, { id: user.id })).data.restorePreview;
    expect((await restoreUser(user.id)).errors).toBeUndefined();
    const liveNow: string[] = [];
    for (const id of [a.id, b.id, c.id]) if (!(await findAnyPost(id)).isDeleted) liveNow.push(id);
    if (!(await findUser(user.id)).isDeleted) liveNow.push(user.id);
    expect(liveNow.sort()).toEqual(preview.items.map((item: PreviewItem) => item.id).sort());
    expect(liveNow).toHaveLength(3);
  });
});
