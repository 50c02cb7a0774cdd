import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

let server: TestServer;
const created: UserView[] = [];
const trashedIds = new Set<string>();

beforeAll(async () => {
  server = await startTestServer();
  // 23 users, every third one trashed in a scrambled order, so live and trashed rows interleave.
  for (let i = 0; i < 23; i += 1) created.push(await createUser(server));
  for (const index of [20, 2, 11, 5, 17, 8, 14]) {
    await deleteUser(server, created[index].id);
    trashedIds.add(created[index].id);
  }
});
afterAll(() => server?.stop());

const listQuery = `query($first: Int!, $after: String, $includeDeleted: Boolean! = false, $onlyDeleted: Boolean! = false) {
  users(first: $first, after: $after, includeDeleted: $includeDeleted, onlyDeleted: $onlyDeleted) {
    totalCount
    edges { cursor node { id deletedAt } }
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Mode {
  includeDeleted?: boolean;
  onlyDeleted?: boolean;
}

async function walkAllPages(pageSize: number, mode: Mode) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const response: GraphQLResponse = await server.gql(listQuery, { first: pageSize, after, ...mode });
    expect(response.errors).toBeUndefined();
    const connection: any = response.data.users;
    expect(connection.nodes.map((node: { id: string }) => node.id)).toEqual(connection.edges.map((edge: any) => edge.node.id));
    expect(connection.edges.length).toBeLessThanOrEqual(pageSize);
    ids.push(...connection.nodes.map((node: { id: string }) => node.id));
    totals.add(connection.totalCount);
    pages += 1;
    if (!connection.pageInfo.hasNextPage) {
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
      break;
    }
    after = connection.pageInfo.endCursor;
  }
  return { ids, totals: [...totals], pages };
}

const newestFirst = (users: UserView[]) => [...users].reverse().map((user) => user.id);

describe('listing users page by page', () => {
  it('lists every live user once, newest first, across pages, skipping trashed ones', async () => {
    const { ids, totals, pages } = await walkAllPages(4, {});
    const live = created.filter((user) => !trashedIds.has(user.id));
    expect(ids).toEqual(newestFirst(live));
    expect(totals).toEqual([live.length]);
    expect(pages).toBe(Math.ceil(live.length / 4));
  });

  it('with includeDeleted, lists live and trashed users in creation order', async () => {
    const { ids, totals } = await walkAllPages(5, { includeDeleted: true });
    expect(ids).toEqual(newestFirst(created));
    expect(totals).toEqual([created.length]);
  });

  it('with onlyDeleted, lists only trashed users, newest deletion first', async () => {
    const { ids, totals } = await walkAllPages(3, { onlyDeleted: true });
    expect(ids).toEqual([...trashedIds].reverse());
    expect(totals).toEqual([trashedIds.size]);
  });

  it('onlyDeleted takes precedence over includeDeleted', async () => {
    const { ids } = await walkAllPages(100, { onlyDeleted: true, includeDeleted: true });
    expect(ids).toEqual([...trashedIds].reverse());
  });

  it('a page exactly as large as the rest reports no next page', async () => {
    const live = created.length - trashedIds.size;
    const response = await server.gql(listQuery, { first: live });
    expect(response.data.users.nodes).toHaveLength(live);
    expect(response.data.users.pageInfo.hasNextPage).toBe(false);
  });

  it('an empty listing has no edges, no endCursor and totalCount 0', async () => {
    const isolated = await startTestServer();
    try {
      const response = await isolated.gql(listQuery, { first: 10, onlyDeleted: true });
      expect(response.data.users).toEqual({ totalCount: 0, edges: [], nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
    } finally {
      await isolated.stop();
    }
  });

  it('keeps its place when a user on an earlier page is trashed between requests', async () => {
    const first = await server.gql(listQuery, { first: 3 });
    const seen = first.data.users.nodes.map((node: { id: string }) => node.id);
    const victim = await createUser(server); // newest: it would sort before every cursor
    await deleteUser(server, seen[0]);
    try {
      const second = await server.gql(listQuery, { first: 3, after: first.data.users.pageInfo.endCursor });
      const expected = newestFirst(created.filter((user) => !trashedIds.has(user.id))).slice(3, 6);
      expect(second.data.users.nodes.map((node: { id: string }) => node.id)).toEqual(expected);
    } finally {
      await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: seen[0] });
      await deleteUser(server, victim.id);
      trashedIds.add(victim.id);
      created.push(victim);
    }
  });
});

describe('pagination arguments', () => {
  it.each([0, -1, 101])('rejects first: %i with BAD_USER_INPUT naming first', async (first) => {
    const error = onlyError(await server.gql(listQuery, { first }));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'first' } });
  });

  it('accepts first: 1 and first: 100', async () => {
    expect((await server.gql(listQuery, { first: 1 })).data.users.nodes).toHaveLength(1);
    expect((await server.gql(listQuery, { first: 100 })).errors).toBeUndefined();
  });

  it('defaults first to 20', async () => {
    const response = await server.gql('{ users(includeDeleted: true) { nodes { id } } }');
    expect(response.data.users.nodes).toHaveLength(20);
  });

  it.each(['garbage', '', 'WyJsaXZlIl0', Buffer.from('["live","not a date","x"]').toString('base64url')])(
    'rejects a malformed after (%j) with BAD_USER_INPUT naming after',
    async (after) => {
      const error = onlyError(await server.gql(listQuery, { first: 5, after }));
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'after' } });
    },
  );

  it('rejects a cursor from a listing with other arguments', async () => {
    const live = await server.gql(listQuery, { first: 2 });
    const error = onlyError(await server.gql(listQuery, { first: 2, onlyDeleted: true, after: live.data.users.pageInfo.endCursor }));
    expect(error.code).toBe('BAD_USER_INPUT');
  });
});
