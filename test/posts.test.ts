import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID } from './helpers/auth';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

const DAY_MS = 86_400_000;
const UNKNOWN_ID = '01a22707-0000-7000-8000-000000000000';

/** Strictly increasing: two trash operations never share a deletedAt unless they are one operation. */
let lastTick = 0;
const monotonicClock = () => {
  lastTick = Math.max(Date.now(), lastTick + 1);
  return new Date(lastTick);
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock: monotonicClock });
});
afterAll(() => server?.stop());

const POST_FIELDS = 'id title body version createdAt updatedAt deletedAt deletedBy deleteReason deletionId purgeAt isDeleted author { id }';

interface PostView {
  id: string;
  title: string;
  body: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  deletedBy: string | null;
  deleteReason: string | null;
  deletionId: string | null;
  purgeAt: string | null;
  isDeleted: boolean;
  author: { id: string };
}

const createMutation = `mutation($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`;
const updateMutation = `mutation($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { ${POST_FIELDS} } }`;
const deleteMutation = `mutation($id: ID!, $reason: String) { deletePost(id: $id, reason: $reason) { ${POST_FIELDS} } }`;
const postQuery = `query($id: ID!, $includeDeleted: Boolean! = false) { post(id: $id, includeDeleted: $includeDeleted) { ${POST_FIELDS} } }`;

let postSequence = 0;

async function createPost(authorId: string, input: Partial<{ title: string; body: string }> = {}): Promise<PostView> {
  postSequence += 1;
  const response = await server.gql<{ createPost: PostView }>(createMutation, {
    input: { authorId, title: `Post ${postSequence}`, body: `Body of post ${postSequence}`, ...input },
  });
  if (!response.data?.createPost) throw new Error(`createPost failed: ${JSON.stringify(response.errors)}`);
  return response.data.createPost;
}

async function deletePost(id: string, reason?: string): Promise<PostView> {
  const response = await server.gql<{ deletePost: PostView }>(deleteMutation, { id, reason });
  if (!response.data?.deletePost) throw new Error(`deletePost failed: ${JSON.stringify(response.errors)}`);
  return response.data.deletePost;
}

async function findPost(id: string, includeDeleted = false): Promise<PostView | null> {
  const response = await server.gql<{ post: PostView | null }>(postQuery, { id, includeDeleted });
  expect(response.errors).toBeUndefined();
  return response.data!.post;
}

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
    const post = await createPost(author.id, { title: 'Hello', body: 'World' });
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
    expect(await findPost(post.id)).toEqual(post);
  });

  it('accepts a 200-character title of accented letters, counted as PostgreSQL counts them', async () => {
    const author = await createUser(server);
    const post = await createPost(author.id, { title: '\u00e9'.repeat(200) });
    expect([...post.title]).toHaveLength(200);
  });

  it('accepts a 1-character and a 200-character title, an empty and a 20,000-character body', async () => {
    const author = await createUser(server);
    const shortest = await createPost(author.id, { title: 't', body: '' });
    expect(shortest).toMatchObject({ title: 't', body: '' });
    const longest = await createPost(author.id, { title: 'T'.repeat(200), body: 'b'.repeat(20_000) });
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
    const response = await server.gql(createMutation, { input: { authorId: author.id, title: 'ok', body: 'ok', ...input } });
    expect(onlyError(response)).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field } });
    const stored = await server.sql.query('select count(*)::int as n from posts where author_id = $1', [author.id]);
    expect(stored.rows[0].n).toBe(0);
  });

  it('answers NOT_FOUND for an author that does not exist or is not a UUID', async () => {
    for (const authorId of [UNKNOWN_ID, 'not-a-uuid']) {
      const response = await server.gql(createMutation, { input: { authorId, title: 'orphan', body: '' } });
      expect(onlyError(response).code).toBe('NOT_FOUND');
    }
    const stored = await server.sql.query(`select count(*)::int as n from posts where title = 'orphan'`);
    expect(stored.rows[0].n).toBe(0);
  });

  it('answers NOT_FOUND for an author in the trash, and stores nothing', async () => {
    const author = await createUser(server);
    await deleteUser(server, author.id);
    const response = await server.gql(createMutation, { input: { authorId: author.id, title: 'too late', body: '' } });
    expect(onlyError(response).code).toBe('NOT_FOUND');
    const stored = await server.sql.query('select count(*)::int as n from posts where author_id = $1', [author.id]);
    expect(stored.rows[0].n).toBe(0);
  });
});

describe('reading one post', () => {
  it('is null for an unknown id and for an id that is not a UUID', async () => {
    expect(await findPost(UNKNOWN_ID)).toBeNull();
    expect(await findPost(UNKNOWN_ID, true)).toBeNull();
    expect(await findPost('nope')).toBeNull();
    expect(await findPost('nope', true)).toBeNull();
  });

  it('is null for a trashed post unless includeDeleted is asked for', async () => {
    const author = await createUser(server);
    const post = await createPost(author.id);
    const trashed = await deletePost(post.id);
    expect(await findPost(post.id)).toBeNull();
    expect(await findPost(post.id, true)).toEqual(trashed);
  });
});

describe('updating a post', () => {
  it('applies the change and increments the version each time', async () => {
    const author = await createUser(server);
    const post = await createPost(author.id, { title: 'before', body: 'old body' });
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
    const post = await createPost(author.id, { title: 'original' });
    await server.gql(updateMutation, { id: post.id, input: { title: 'second' } });
    const before = await storedPost(post.id);
    const response = await server.gql(updateMutation, { id: post.id, input: { title: 'lost update', expectedVersion: 1 } });
    expect(onlyError(response).code).toBe('CONFLICT');
    expect(await storedPost(post.id)).toEqual(before);
    expect(before).toMatchObject({ title: 'second', version: 2 });
  });

  it('fails with PRECONDITION_FAILED on a trashed post and changes nothing', async () => {
    const author = await createUser(server);
    const post = await createPost(author.id, { title: 'trashed' });
    await deletePost(post.id);
    const before = await storedPost(post.id);
    const response = await server.gql(updateMutation, { id: post.id, input: { title: 'edited in the trash' } });
    expect(onlyError(response).code).toBe('PRECONDITION_FAILED');
    expect(await storedPost(post.id)).toEqual(before);
  });

  it('rejects an empty title with BAD_USER_INPUT naming title', async () => {
    const author = await createUser(server);
    const post = await createPost(author.id);
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
    const post = await createPost(author.id);
    const trashed = await deletePost(post.id, 'off topic');
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
    const post = await createPost(author.id);
    const first = await deletePost(post.id, 'first');
    const before = await storedPost(post.id);
    const again = await deletePost(post.id, 'second');
    expect(again).toEqual(first);
    expect(await storedPost(post.id)).toEqual(before);
    expect(before.delete_reason).toBe('first');
  });

  it('leaves the author and its other posts alone', async () => {
    const author = await createUser(server);
    const kept = await createPost(author.id);
    const trashed = await createPost(author.id);
    await deletePost(trashed.id);
    expect(await findPost(kept.id)).toEqual(kept);
    const response = await server.gql(`query($id: ID!) { user(id: $id) { id deletedAt } }`, { id: author.id });
    expect(response.data.user).toEqual({ id: author.id, deletedAt: null });
  });

  it('answers NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of [UNKNOWN_ID, 'nope']) {
      expect(onlyError(await server.gql(deleteMutation, { id })).code).toBe('NOT_FOUND');
    }
  });
});

describe('Post.author', () => {
  it('resolves for a trashed post whose author is trashed too, in post(), posts() and User.posts', async () => {
    const author = await createUser(server);
    const alone = await createPost(author.id);
    const cascaded = await createPost(author.id);
    await deletePost(alone.id);
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
    const post = await createPost(author.id);
    const response = await server.gql(`query($id: ID!) { post(id: $id) { author { id username deletedAt } } }`, { id: post.id });
    expect(response.data.post.author).toEqual({ id: author.id, username: author.username, deletedAt: null });
  });
});

// ---------------------------------------------------------------------------------------------

type Mode = { includeDeleted?: boolean; onlyDeleted?: boolean };

const listQuery = `query($first: Int!, $after: String, $authorId: ID, $includeDeleted: Boolean! = false, $onlyDeleted: Boolean! = false) {
  posts(first: $first, after: $after, authorId: $authorId, includeDeleted: $includeDeleted, onlyDeleted: $onlyDeleted) {
    totalCount
    edges { cursor node { id createdAt deletedAt author { id } } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}`;

const nestedListQuery = `query($userId: ID!, $first: Int!, $after: String, $includeDeleted: Boolean! = false, $onlyDeleted: Boolean! = false) {
  user(id: $userId, includeDeleted: true) {
    posts(first: $first, after: $after, includeDeleted: $includeDeleted, onlyDeleted: $onlyDeleted) {
      totalCount
      edges { cursor node { id createdAt deletedAt author { id } } }
      nodes { id }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface ListedPost {
  id: string;
  createdAt: string;
  deletedAt: string | null;
  author: { id: string };
}

/** Follows endCursor to the end; every page must agree on totalCount. */
async function walkPages(read: (after: string | null) => Promise<GraphQLResponse>, connectionOf: (data: any) => any, pageSize: number) {
  const nodes: ListedPost[] = [];
  const totals = new Set<number>();
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const response = await read(after);
    expect(response.errors).toBeUndefined();
    const connection = connectionOf(response.data);
    expect(connection.edges.length).toBeLessThanOrEqual(pageSize);
    expect(connection.nodes.map((node: { id: string }) => node.id)).toEqual(connection.edges.map((edge: any) => edge.node.id));
    nodes.push(...connection.edges.map((edge: any) => edge.node));
    totals.add(connection.totalCount);
    pages += 1;
    expect(pages).toBeLessThan(200);
    if (!connection.pageInfo.hasNextPage) {
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
      break;
    }
    expect(connection.edges).toHaveLength(pageSize);
    after = connection.pageInfo.endCursor;
  }
  return { nodes, ids: nodes.map((node) => node.id), totals: [...totals], pages };
}

function walkPosts(pageSize: number, args: Mode & { authorId?: string }) {
  return walkPages((after) => server.gql(listQuery, { first: pageSize, after, ...args }), (data) => data.posts, pageSize);
}

function walkUserPosts(userId: string, pageSize: number, mode: Mode) {
  return walkPages((after) => server.gql(nestedListQuery, { userId, first: pageSize, after, ...mode }), (data) => data.user.posts, pageSize);
}

const newestFirst = (posts: PostView[]) => [...posts].reverse().map((post) => post.id);

describe('listing posts', () => {
  // alice: 13 posts, 5 of them trashed on their own in a scrambled order, so live and trashed rows interleave.
  // bob: 5 posts, one trashed on its own, then bob himself is trashed (taking the other 4 with him).
  // carol: no posts at all.
  let alice: UserView;
  let bob: UserView;
  let carol: UserView;
  const alicePosts: PostView[] = [];
  const aliceTrashOrder: string[] = [];
  const bobPosts: PostView[] = [];
  let bobAlone: PostView;

  beforeAll(async () => {
    alice = await createUser(server);
    bob = await createUser(server);
    carol = await createUser(server);
    for (let i = 0; i < 13; i += 1) {
      alicePosts.push(await createPost(alice.id));
      if (i % 3 === 0) bobPosts.push(await createPost(bob.id));
    }
    for (const index of [11, 1, 7, 4, 9]) {
      await deletePost(alicePosts[index].id);
      aliceTrashOrder.push(alicePosts[index].id);
    }
    bobAlone = bobPosts[2];
    await deletePost(bobAlone.id);
    await deleteUser(server, bob.id);
  });

  const aliceLive = () => alicePosts.filter((post) => !aliceTrashOrder.includes(post.id));

  describe('posts(authorId)', () => {
    it('lists the live posts only, newest first, page by page, with a steady totalCount', async () => {
      const { ids, totals, pages } = await walkPosts(3, { authorId: alice.id });
      expect(ids).toEqual(newestFirst(aliceLive()));
      expect(totals).toEqual([8]);
      expect(pages).toBe(3);
    });

    it('with includeDeleted, lists live and trashed posts together, newest first', async () => {
      const { ids, totals } = await walkPosts(4, { authorId: alice.id, includeDeleted: true });
      expect(ids).toEqual(newestFirst(alicePosts));
      expect(totals).toEqual([13]);
    });

    it('with onlyDeleted, lists only trashed posts, newest deletion first', async () => {
      const { ids, totals } = await walkPosts(2, { authorId: alice.id, onlyDeleted: true });
      expect(ids).toEqual([...aliceTrashOrder].reverse());
      expect(totals).toEqual([5]);
    });

    it('onlyDeleted takes precedence over includeDeleted', async () => {
      const { ids, totals } = await walkPosts(2, { authorId: alice.id, onlyDeleted: true, includeDeleted: true });
      expect(ids).toEqual([...aliceTrashOrder].reverse());
      expect(totals).toEqual([5]);
    });

    it("lists a trashed user's posts only with includeDeleted or onlyDeleted", async () => {
      const live = await walkPosts(2, { authorId: bob.id });
      expect(live).toMatchObject({ ids: [], totals: [0], pages: 1 });

      const all = await walkPosts(2, { authorId: bob.id, includeDeleted: true });
      expect(all.ids).toEqual(newestFirst(bobPosts));
      expect(all.totals).toEqual([5]);

      const trashed = await walkPosts(2, { authorId: bob.id, onlyDeleted: true });
      expect(trashed.totals).toEqual([5]);
      // The 4 posts bob's deletion took were trashed after the one trashed on its own.
      expect(trashed.ids.slice(0, 4).sort()).toEqual(bobPosts.filter((post) => post !== bobAlone).map((post) => post.id).sort());
      expect(trashed.ids[4]).toBe(bobAlone.id);
    });

    it('is an empty connection for an author without posts, an unknown author and an authorId that is not a UUID', async () => {
      for (const authorId of [carol.id, UNKNOWN_ID, 'not-a-uuid']) {
        for (const mode of [{}, { includeDeleted: true }, { onlyDeleted: true }]) {
          const response = await server.gql(listQuery, { first: 10, authorId, ...mode });
          expect(response.errors).toBeUndefined();
          expect(response.data.posts).toEqual({ totalCount: 0, edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
        }
      }
    });
  });

  describe('posts() without authorId', () => {
    const modes: Array<[string, Mode, string]> = [
      ['live', {}, 'where deleted_at is null'],
      ['includeDeleted', { includeDeleted: true }, ''],
      ['onlyDeleted', { onlyDeleted: true }, 'where deleted_at is not null'],
    ];

    it.each(modes)('%s: lists every matching post exactly once, in order, and totalCount equals what the pages list', async (_, mode, condition) => {
      const { nodes, ids, totals } = await walkPosts(7, mode);
      const stored = await server.sql.query(`select id from posts ${condition}`);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(stored.rows.map((row) => row.id).sort());
      expect(totals).toEqual([ids.length]);

      const sortKey = (node: ListedPost) => new Date(mode.onlyDeleted ? node.deletedAt! : node.createdAt).getTime();
      for (let i = 1; i < nodes.length; i += 1) expect(sortKey(nodes[i])).toBeLessThanOrEqual(sortKey(nodes[i - 1]));
      if (!mode.includeDeleted && !mode.onlyDeleted) expect(nodes.every((node) => node.deletedAt === null)).toBe(true);
      if (mode.onlyDeleted) expect(nodes.every((node) => node.deletedAt !== null)).toBe(true);
    });

    it("keeps alice's posts in their own order within the whole listing", async () => {
      const inFixture = (ids: string[], wanted: string[]) => ids.filter((id) => wanted.includes(id));
      const live = await walkPosts(5, {});
      expect(inFixture(live.ids, alicePosts.map((p) => p.id))).toEqual(newestFirst(aliceLive()));
      expect(inFixture(live.ids, bobPosts.map((p) => p.id))).toEqual([]);
      const all = await walkPosts(5, { includeDeleted: true });
      expect(inFixture(all.ids, alicePosts.map((p) => p.id))).toEqual(newestFirst(alicePosts));
      const trashed = await walkPosts(5, { onlyDeleted: true });
      expect(inFixture(trashed.ids, alicePosts.map((p) => p.id))).toEqual([...aliceTrashOrder].reverse());
      expect(inFixture(trashed.ids, bobPosts.map((p) => p.id))).toHaveLength(5);
    });
  });

  describe('User.posts', () => {
    it('lists the live posts only, newest first, page by page, with a steady totalCount', async () => {
      const { ids, totals, pages } = await walkUserPosts(alice.id, 3, {});
      expect(ids).toEqual(newestFirst(aliceLive()));
      expect(totals).toEqual([8]);
      expect(pages).toBe(3);
    });

    it('with includeDeleted, lists live and trashed posts together, newest first', async () => {
      const { ids, totals } = await walkUserPosts(alice.id, 4, { includeDeleted: true });
      expect(ids).toEqual(newestFirst(alicePosts));
      expect(totals).toEqual([13]);
    });

    it('with onlyDeleted (and includeDeleted), lists only trashed posts, newest deletion first', async () => {
      for (const mode of [{ onlyDeleted: true }, { onlyDeleted: true, includeDeleted: true }]) {
        const { ids, totals } = await walkUserPosts(alice.id, 2, mode);
        expect(ids).toEqual([...aliceTrashOrder].reverse());
        expect(totals).toEqual([5]);
      }
    });

    it("lists a trashed user's posts only with includeDeleted or onlyDeleted", async () => {
      expect(await walkUserPosts(bob.id, 2, {})).toMatchObject({ ids: [], totals: [0], pages: 1 });
      const all = await walkUserPosts(bob.id, 2, { includeDeleted: true });
      expect(all.ids).toEqual(newestFirst(bobPosts));
      expect(all.totals).toEqual([5]);
      const trashed = await walkUserPosts(bob.id, 3, { onlyDeleted: true });
      expect(trashed.totals).toEqual([5]);
      expect(trashed.ids.at(-1)).toBe(bobAlone.id);
      expect([...trashed.ids].sort()).toEqual(bobPosts.map((post) => post.id).sort());
    });

    it("returns each user's own posts and totalCount when several users are resolved in one query", async () => {
      const response = await server.gql(
        `query($a: ID!, $b: ID!, $c: ID!) {
          a: user(id: $a) { id live: posts(first: 3) { totalCount nodes { id author { id } } } all: posts(first: 100, includeDeleted: true) { totalCount nodes { id } } }
          b: user(id: $b, includeDeleted: true) { id live: posts(first: 3) { totalCount nodes { id author { id } } } all: posts(first: 100, includeDeleted: true) { totalCount nodes { id } } }
          c: user(id: $c) { id live: posts(first: 3) { totalCount nodes { id author { id } } } all: posts(first: 100, includeDeleted: true) { totalCount nodes { id } } }
        }`,
        { a: alice.id, b: bob.id, c: carol.id },
      );
      expect(response.errors).toBeUndefined();
      const { a, b, c } = response.data;
      expect(a.live.totalCount).toBe(8);
      expect(a.live.nodes.map((node: any) => node.id)).toEqual(newestFirst(aliceLive()).slice(0, 3));
      expect(a.live.nodes.every((node: any) => node.author.id === alice.id)).toBe(true);
      expect(a.all).toEqual({ totalCount: 13, nodes: newestFirst(alicePosts).map((id) => ({ id })) });
      expect(b.live).toEqual({ totalCount: 0, nodes: [] });
      expect(b.all).toEqual({ totalCount: 5, nodes: newestFirst(bobPosts).map((id) => ({ id })) });
      expect(c.live).toEqual({ totalCount: 0, nodes: [] });
      expect(c.all).toEqual({ totalCount: 0, nodes: [] });
    });

    it('never mixes posts between the users of a users() page', async () => {
      for (const mode of [{}, { includeDeleted: true }, { onlyDeleted: true }]) {
        const response = await server.gql(
          `query($includeDeleted: Boolean!, $onlyDeleted: Boolean!) {
            users(first: 100, includeDeleted: true) {
              nodes { id posts(first: 15, includeDeleted: $includeDeleted, onlyDeleted: $onlyDeleted) { totalCount nodes { id author { id } } } }
            }
          }`,
          { includeDeleted: false, onlyDeleted: false, ...mode },
        );
        expect(response.errors).toBeUndefined();
        const users: any[] = response.data.users.nodes;
        for (const user of users) {
          expect(user.posts.nodes.every((node: any) => node.author.id === user.id)).toBe(true);
          expect(user.posts.totalCount).toBe(user.posts.nodes.length);
        }
        const byId = new Map(users.map((user) => [user.id, user.posts]));
        const expectedAlice = mode.onlyDeleted ? [...aliceTrashOrder].reverse() : mode.includeDeleted ? newestFirst(alicePosts) : newestFirst(aliceLive());
        expect(byId.get(alice.id).nodes.map((node: any) => node.id)).toEqual(expectedAlice);
        expect(byId.get(bob.id).totalCount).toBe(mode.onlyDeleted || mode.includeDeleted ? 5 : 0);
        expect(byId.get(carol.id).totalCount).toBe(0);
      }
    });
  });

  describe('page size', () => {
    it.each([0, -1, 101])('posts(first: %i) fails with BAD_USER_INPUT naming first', async (first) => {
      const error = onlyError(await server.gql(listQuery, { first, authorId: alice.id }));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'first' } });
    });

    it.each([0, 101])('User.posts(first: %i) fails with BAD_USER_INPUT naming first', async (first) => {
      const error = onlyError(await server.gql(nestedListQuery, { userId: alice.id, first }));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'first' } });
    });

    it('accepts first: 1 and first: 100', async () => {
      const one = await server.gql(listQuery, { first: 1, authorId: alice.id });
      expect(one.data.posts.nodes).toHaveLength(1);
      expect(one.data.posts.pageInfo.hasNextPage).toBe(true);
      const hundred = await server.gql(listQuery, { first: 100, authorId: alice.id, includeDeleted: true });
      expect(hundred.data.posts.nodes).toHaveLength(13);
      expect(hundred.data.posts.pageInfo.hasNextPage).toBe(false);
    });
  });
});
