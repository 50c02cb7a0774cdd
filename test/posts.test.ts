import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID } from './helpers/auth';
import { monotonicClock, onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createPost, createPostMutation, deletePost, deletePostMutation, findPost, POST_FIELDS } from './helpers/posts';
import { createUser, deleteUser } from './helpers/users';

const DAY_MS = 86_400_000;
const UNKNOWN_ID = '01a22707-0000-7000-8000-000000000000';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock: monotonicClock() });
});
afterAll(() => server?.stop());

const updateMutation = `mutation($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { ${POST_FIELDS} } }`;

async function storedPost(id: string) {
  const stored = await server.sql.query(
    'select title, body, version, updated_at, deleted_at, deletion_id, delete_reason, purge_at from posts where id = $1',
    [id],
  );
  return stored.rows[0];
}

describe('creating a post', () => {
  it('returns the new live post at version 1, written by its author', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id, { title: 'Hello', body: 'World' });
    expect(post).toMatchObject({
      title: 'Hello',
      body: 'World',
      version: 1,
      deletedAt: null,
      deletedBy: null,
      deleteReason: null,
      deletionId: null,
      purgeAt: null,
      isDeleted: false,
      author: { id: author.id },
    });
    expect(post.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await findPost(server, post.id)).toEqual(post);
  });

  it('accepts a 200-character title of accented letters, counted as PostgreSQL counts them', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id, { title: '\u00e9'.repeat(200) });
    expect([...post.title]).toHaveLength(200);
  });

  it('accepts a 1-character and a 200-character title, an empty and a 20,000-character body', async () => {
    const author = await createUser(server);
    const shortest = await createPost(server, author.id, { title: 't', body: '' });
    expect(shortest).toMatchObject({ title: 't', body: '' });
    const longest = await createPost(server, author.id, { title: 'T'.repeat(200), body: 'b'.repeat(20_000) });
    expect(longest.title).toHaveLength(200);
    expect(longest.body).toHaveLength(20_000);
  });

  it.each([
    ['title', { title: '' }],
    ['title', { title: 'T'.repeat(201) }],
    // 200 emoji with variation selectors are 400 characters to PostgreSQL: refused up front, not by the column.
    ['title', { title: '\u2764\ufe0f'.repeat(200) }],
    ['body', { body: 'b'.repeat(20_001) }],
  ])('rejects an invalid %s with BAD_USER_INPUT naming it, and stores nothing', async (field, input) => {
    const author = await createUser(server);
    const response = await server.gql(createPostMutation, { input: { authorId: author.id, title: 'ok', body: 'ok', ...input } });
    expect(onlyError(response)).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field } });
    const stored = await server.sql.query('select count(*)::int as n from posts where author_id = $1', [author.id]);
    expect(stored.rows[0].n).toBe(0);
  });

  it('answers NOT_FOUND for an author that does not exist or is not a UUID', async () => {
    for (const authorId of [UNKNOWN_ID, 'not-a-uuid']) {
      const response = await server.gql(createPostMutation, { input: { authorId, title: 'orphan', body: '' } });
      expect(onlyError(response).code).toBe('NOT_FOUND');
    }
    const stored = await server.sql.query(`select count(*)::int as n from posts where title = 'orphan'`);
    expect(stored.rows[0].n).toBe(0);
  });

  it('answers NOT_FOUND for an author in the trash, and stores nothing', async () => {
    const author = await createUser(server);
    await deleteUser(server, author.id);
    const response = await server.gql(createPostMutation, { input: { authorId: author.id, title: 'too late', body: '' } });
    expect(onlyError(response).code).toBe('NOT_FOUND');
    const stored = await server.sql.query('select count(*)::int as n from posts where author_id = $1', [author.id]);
    expect(stored.rows[0].n).toBe(0);
  });
});

describe('reading one post', () => {
  it('is null for an unknown id and for an id that is not a UUID', async () => {
    expect(await findPost(server, UNKNOWN_ID)).toBeNull();
    expect(await findPost(server, UNKNOWN_ID, true)).toBeNull();
    expect(await findPost(server, 'nope')).toBeNull();
    expect(await findPost(server, 'nope', true)).toBeNull();
  });

  it('is null for a trashed post unless includeDeleted is asked for', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    const trashed = await deletePost(server, post.id);
    expect(await findPost(server, post.id)).toBeNull();
    expect(await findPost(server, post.id, true)).toEqual(trashed);
  });
});

describe('updating a post', () => {
  it('applies the change and increments the version each time', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id, { title: 'before', body: 'old body' });
    const first = await server.gql(updateMutation, { id: post.id, input: { title: 'after' } });
    expect(first.errors).toBeUndefined();
    expect(first.data.updatePost).toMatchObject({ id: post.id, title: 'after', body: 'old body', version: 2 });
    const second = await server.gql(updateMutation, { id: post.id, input: { body: 'new body', expectedVersion: 2 } });
    expect(second.errors).toBeUndefined();
    expect(second.data.updatePost).toMatchObject({ title: 'after', body: 'new body', version: 3 });
    expect(await storedPost(post.id)).toMatchObject({ title: 'after', body: 'new body', version: 3 });
  });

  it('fails with CONFLICT on a stale expectedVersion and changes nothing', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id, { title: 'original' });
    await server.gql(updateMutation, { id: post.id, input: { title: 'second' } });
    const before = await storedPost(post.id);
    const response = await server.gql(updateMutation, { id: post.id, input: { title: 'lost update', expectedVersion: 1 } });
    expect(onlyError(response).code).toBe('CONFLICT');
    expect(await storedPost(post.id)).toEqual(before);
    expect(before).toMatchObject({ title: 'second', version: 2 });
  });

  it('fails with PRECONDITION_FAILED on a trashed post and changes nothing', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id, { title: 'trashed' });
    await deletePost(server, post.id);
    const before = await storedPost(post.id);
    const response = await server.gql(updateMutation, { id: post.id, input: { title: 'edited in the trash' } });
    expect(onlyError(response).code).toBe('PRECONDITION_FAILED');
    expect(await storedPost(post.id)).toEqual(before);
  });

  it('rejects an empty title with BAD_USER_INPUT naming title', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    const response = await server.gql(updateMutation, { id: post.id, input: { title: '' } });
    expect(onlyError(response)).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'title' } });
    expect((await storedPost(post.id)).version).toBe(1);
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) {
      expect(onlyError(await server.gql(updateMutation, { id, input: { title: 'x' } })).code).toBe('NOT_FOUND');
    }
  });
});

describe('deleting a post moves it to the trash', () => {
  it("returns the trashed post with the trash fields set, purgeAt 30 days after deletedAt and deletedBy the actor's id", async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    const trashed = await deletePost(server, post.id, 'off topic');
    expect(trashed).toMatchObject({ id: post.id, isDeleted: true, deleteReason: 'off topic', deletedBy: ADMIN_ID, version: 2 });
    expect(trashed.deletionId).toMatch(/^[0-9a-f-]{36}$/);
    const deletedAt = new Date(trashed.deletedAt!).getTime();
    expect(deletedAt).toBeGreaterThanOrEqual(new Date(post.createdAt).getTime());
    expect(new Date(trashed.purgeAt!).getTime() - deletedAt).toBe(30 * DAY_MS);
    const stored = await storedPost(post.id);
    expect(stored.deleted_at.getTime()).toBe(deletedAt);
    expect(stored.deletion_id).toBe(trashed.deletionId);
    expect(stored.delete_reason).toBe('off topic');
  });

  it('returns an already trashed post unchanged, without re-stamping deletedAt', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    const first = await deletePost(server, post.id, 'first');
    const before = await storedPost(post.id);
    const again = await deletePost(server, post.id, 'second');
    expect(again).toEqual(first);
    expect(await storedPost(post.id)).toEqual(before);
    expect(before.delete_reason).toBe('first');
  });

  it('leaves the author and its other posts alone', async () => {
    const author = await createUser(server);
    const kept = await createPost(server, author.id);
    const trashed = await createPost(server, author.id);
    await deletePost(server, trashed.id);
    expect(await findPost(server, kept.id)).toEqual(kept);
    const response = await server.gql(`query($id: ID!) { user(id: $id) { id deletedAt } }`, { id: author.id });
    expect(response.data.user).toEqual({ id: author.id, deletedAt: null });
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) {
      expect(onlyError(await server.gql(deletePostMutation, { id })).code).toBe('NOT_FOUND');
    }
  });
});

describe('Post.author', () => {
  it('resolves for a trashed post whose author is trashed too, in post(), posts() and User.posts', async () => {
    const author = await createUser(server);
    const alone = await createPost(server, author.id);
    const cascaded = await createPost(server, author.id);
    await deletePost(server, alone.id);
    await deleteUser(server, author.id);

    for (const id of [alone.id, cascaded.id]) {
      const response = await server.gql(`query($id: ID!) { post(id: $id, includeDeleted: true) { id author { id isDeleted } } }`, { id });
      expect(response.errors).toBeUndefined();
      expect(response.data.post).toEqual({ id, author: { id: author.id, isDeleted: true } });
    }

    const listed = await server.gql(
      `query($authorId: ID!) { posts(authorId: $authorId, onlyDeleted: true) { nodes { id author { id isDeleted } } } }`,
      { authorId: author.id },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data.posts.nodes).toHaveLength(2);
    for (const node of listed.data.posts.nodes) expect(node.author).toEqual({ id: author.id, isDeleted: true });

    const nested = await server.gql(
      `query($id: ID!) { user(id: $id, includeDeleted: true) { posts(includeDeleted: true) { nodes { author { id } } } } }`,
      { id: author.id },
    );
    expect(nested.errors).toBeUndefined();
    expect(nested.data.user.posts.nodes).toEqual([{ author: { id: author.id } }, { author: { id: author.id } }]);
  });

  it('resolves a live post to its live author', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    const response = await server.gql(`query($id: ID!) { post(id: $id) { author { id username deletedAt } } }`, { id: post.id });
    expect(response.data.post.author).toEqual({ id: author.id, username: author.username, deletedAt: null });
  });
});
