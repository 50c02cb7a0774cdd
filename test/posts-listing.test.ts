import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monotonicClock, onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createPost, deletePost, type PostView } from './helpers/posts';
import { createUser, deleteUser, type UserView } from './helpers/users';

const UNKNOWN_ID = '01a22707-0000-7000-8000-000000000000';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock: monotonicClock() });
});
afterAll(() => server?.stop());

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
      alicePosts.push(await createPost(server, alice.id));
      if (i % 3 === 0) bobPosts.push(await createPost(server, bob.id));
    }
    for (const index of [11, 1, 7, 4, 9]) {
      await deletePost(server, alicePosts[index].id);
      aliceTrashOrder.push(alicePosts[index].id);
    }
    bobAlone = bobPosts[2];
    await deletePost(server, bobAlone.id);
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
