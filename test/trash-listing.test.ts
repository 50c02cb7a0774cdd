import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

let now = new Date('2026-05-01T00:00:00.000Z');
const tick = () => {
  now = new Date(now.getTime() + 1000);
  return now;
};

let server: TestServer;
/** Trashed records in order of deletion, oldest first. */
const deleted: Array<{ typename: 'User' | 'Post'; id: string }> = [];

beforeAll(async () => {
  server = await startTestServer({ clock: () => new Date(now.getTime()) });
  const author = await createUser(server);
  const posts: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
      input: { authorId: author.id, title: `post ${i}`, body: '' },
    });
    posts.push(response.data.createPost.id);
  }
  tick();
  await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: posts[0] });
  deleted.push({ typename: 'Post', id: posts[0] });
  for (let i = 0; i < 3; i += 1) {
    tick();
    const user = await createUser(server);
    await deleteUser(server, user.id);
    deleted.push({ typename: 'User', id: user.id });
  }
  tick();
  // The author and its two live posts go together, at one instant.
  await deleteUser(server, author.id);
  deleted.push({ typename: 'User', id: author.id }, { typename: 'Post', id: posts[1] }, { typename: 'Post', id: posts[2] });
  await createUser(server); // live: never in the trash
});
afterAll(() => server?.stop());

const trashQuery = `query($first: Int!, $after: String) {
  trash(first: $first, after: $after) {
    totalCount
    edges { cursor node { __typename ... on User { id deletedAt } ... on Post { id deletedAt } } }
    nodes { ... on Trashable { id isDeleted deletionId } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function walkTrash(pageSize: number) {
  const seen: Array<{ typename: string; id: string; deletedAt: string }> = [];
  let after: string | null = null;
  for (;;) {
    const response: any = await server.gql(trashQuery, { first: pageSize, after });
    expect(response.errors).toBeUndefined();
    const connection = response.data.trash;
    expect(connection.totalCount).toBe(deleted.length);
    expect(connection.nodes.every((node: { isDeleted: boolean }) => node.isDeleted)).toBe(true);
    seen.push(...connection.edges.map((edge: any) => ({ typename: edge.node.__typename, id: edge.node.id, deletedAt: edge.node.deletedAt })));
    if (!connection.pageInfo.hasNextPage) return seen;
    after = connection.pageInfo.endCursor;
  }
}

describe('the trash', () => {
  it('lists every trashed user and post once, newest deletion first, across pages', async () => {
    const seen = await walkTrash(2);
    expect(seen.map((item) => item.id).sort()).toEqual(deleted.map((item) => item.id).sort());
    const times = seen.map((item) => new Date(item.deletedAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // The author's deletion is the newest; the post trashed alone first is the oldest.
    expect(seen.at(-1)).toMatchObject({ typename: 'Post', id: deleted[0].id });
    expect(new Set(seen.slice(0, 3).map((item) => item.id))).toEqual(new Set(deleted.slice(-3).map((item) => item.id)));
  });

  it('is the same whatever the page size', async () => {
    expect((await walkTrash(1)).map((item) => item.id)).toEqual((await walkTrash(100)).map((item) => item.id));
  });

  it('rejects a cursor from another listing and a bad page size', async () => {
    const users = await server.gql('{ users(onlyDeleted: true, first: 1) { pageInfo { endCursor } } }');
    const error = onlyError(await server.gql(trashQuery, { first: 2, after: users.data.users.pageInfo.endCursor }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'after' } });
    expect(onlyError(await server.gql(trashQuery, { first: 101 })).code).toBe('BAD_USER_INPUT');
  });

  it('no longer lists a record once it is restored', async () => {
    const [, firstUser] = deleted;
    await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: firstUser.id });
    try {
      const response = await server.gql(trashQuery, { first: 100 });
      expect(response.data.trash.totalCount).toBe(deleted.length - 1);
      expect(response.data.trash.nodes.map((node: { id: string }) => node.id)).not.toContain(firstUser.id);
    } finally {
      await deleteUser(server, firstUser.id);
    }
  });
});
