import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID, memberAuthorization } from './helpers/auth';
import { createStatementCounter } from './helpers/sql-counter';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser, deleteUser, type UserView } from './helpers/users';

let now = new Date('2026-06-01T00:00:00.000Z');
/** Moves the server's clock one minute on and returns the new instant. */
const tick = () => {
  now = new Date(now.getTime() + 60_000);
  return now;
};

const counter = createStatementCounter();
let server: TestServer;
let alice: UserView;
let bob: UserView;
let carol: UserView;
let aliceAuth: string;
/** When each deletion happened, in order. */
const at: Record<'report' | 'photos' | 'bob' | 'carol', string> = { report: '', photos: '', bob: '', carol: '' };
const ids: Record<string, string> = {};
let bobDeletionId: string;

async function createPost(authorId: string, title: string): Promise<string> {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, { input: { authorId, title, body: '' } });
  return response.data.createPost.id;
}

beforeAll(async () => {
  server = await startTestServer({ clock: () => new Date(now.getTime()), logger: counter.logger });
  alice = await createUser(server, { username: 'alice_search', email: 'alice@wonder.example', displayName: 'Alice' });
  bob = await createUser(server, { username: 'bob_search', email: 'bob@builder.example', displayName: 'Bob' });
  carol = await createUser(server, { username: 'carol_search', email: 'carol@carol.example', displayName: 'Carol 100% real' });
  aliceAuth = await memberAuthorization(alice.id);
  ids.report = await createPost(alice.id, 'Quarterly Report');
  ids.photos = await createPost(alice.id, 'Holiday photos');
  ids.recipe = await createPost(bob.id, "Bob's recipe");
  ids.draft = await createPost(carol.id, 'Quarterly Report draft'); // stays live
  const live = await createUser(server, { username: 'quarterly_live', email: 'live@example.com' });
  ids.live = live.id;

  // An admin trashes one of Alice's posts; Alice trashes another herself.
  at.report = tick().toISOString();
  await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: ids.report });
  at.photos = tick().toISOString();
  await server.gqlAs(aliceAuth, `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: ids.photos });
  // Bob trashes himself, his post goes with him.
  at.bob = tick().toISOString();
  const bobDeleted = await server.gqlAs(await memberAuthorization(bob.id), `mutation($id: ID!) { deleteUser(id: $id) { deletionId } }`, { id: bob.id });
  bobDeletionId = bobDeleted.data.deleteUser.deletionId;
  // An admin trashes Carol (her live post goes with her).
  at.carol = tick().toISOString();
  await deleteUser(server, carol.id);
  tick();
});
afterAll(() => server?.stop());

const trashQuery = `query($first: Int! = 100, $after: String, $filter: TrashFilter) {
  trash(first: $first, after: $after, filter: $filter) {
    totalCount
    nodes { __typename ... on Trashable { id deletedAt deletedBy deletionId } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface TrashAnswer {
  totalCount: number;
  nodes: Array<{ __typename: string; id: string; deletedAt: string; deletedBy: string | null; deletionId: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

async function search(filter: Record<string, unknown> | null, authorization?: string | null, first = 100): Promise<TrashAnswer> {
  const response: GraphQLResponse = authorization === undefined ? await server.gql(trashQuery, { filter, first }) : await server.gqlAs(authorization, trashQuery, { filter, first });
  expect(response.errors).toBeUndefined();
  const answer = response.data.trash as TrashAnswer;
  // totalCount always agrees with what the same arguments list.
  if (!answer.pageInfo.hasNextPage) expect(answer.totalCount).toBe(answer.nodes.length);
  return answer;
}

const idsOf = (answer: TrashAnswer) => answer.nodes.map((node) => node.id).sort();
const sorted = (...values: string[]) => [...values].sort();

describe('trash(filter) as an admin', () => {
  it('without a filter lists every trashed record', async () => {
    expect(idsOf(await search(null))).toEqual(sorted(ids.report, ids.photos, bob.id, ids.recipe, carol.id, ids.draft));
    expect(idsOf(await search({}))).toEqual(idsOf(await search(null)));
  });

  it('types picks the kinds of records; an empty list picks none', async () => {
    expect(idsOf(await search({ types: ['USER'] }))).toEqual(sorted(bob.id, carol.id));
    expect(idsOf(await search({ types: ['POST'] }))).toEqual(sorted(ids.report, ids.photos, ids.recipe, ids.draft));
    expect(idsOf(await search({ types: ['USER', 'POST'] }))).toHaveLength(6);
    expect(await search({ types: [] })).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('deletedBy lists what that principal moved to the trash, cascaded rows included', async () => {
    expect(idsOf(await search({ deletedBy: bob.id }))).toEqual(sorted(bob.id, ids.recipe));
    expect(idsOf(await search({ deletedBy: alice.id }))).toEqual([ids.photos]);
    expect(idsOf(await search({ deletedBy: ADMIN_ID }))).toEqual(sorted(ids.report, carol.id, ids.draft));
    // No principal has such an id, so it trashed nothing.
    expect(await search({ deletedBy: 'not-a-uuid' })).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('deletionId lists exactly the records of that deletion', async () => {
    const answer = await search({ deletionId: bobDeletionId });
    expect(idsOf(answer)).toEqual(sorted(bob.id, ids.recipe));
    expect(answer.nodes.every((node) => node.deletionId === bobDeletionId)).toBe(true);
    expect(await search({ deletionId: '00000000-0000-7000-8000-000000000000' })).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('deletedAfter is inclusive and deletedBefore exclusive, so consecutive ranges never overlap', async () => {
    expect(idsOf(await search({ deletedAfter: at.photos, deletedBefore: at.carol }))).toEqual(sorted(ids.photos, bob.id, ids.recipe));
    expect(idsOf(await search({ deletedAfter: at.carol }))).toEqual(sorted(carol.id, ids.draft));
    expect(idsOf(await search({ deletedBefore: at.photos }))).toEqual([ids.report]);
    expect(await search({ deletedAfter: at.bob, deletedBefore: at.bob })).toMatchObject({ totalCount: 0 });
  });

  it('search matches a case-insensitive substring of username, email, displayName or title, in the trash only', async () => {
    // The live post "Quarterly Report draft" and the live user "quarterly_live" match too, but are not in the trash.
    expect(idsOf(await search({ search: 'qUARTERLY rep' }))).toEqual(sorted(ids.report, ids.draft));
    expect(idsOf(await search({ search: 'BOB_SEA' }))).toEqual([bob.id]);
    expect(idsOf(await search({ search: '@carol.EXAMPLE' }))).toEqual([carol.id]);
    expect(idsOf(await search({ search: 'carol 100' }))).toEqual([carol.id]);
    expect(idsOf(await search({ search: "bob's" }))).toEqual([ids.recipe]);
    expect(await search({ search: 'nothing like it' })).toMatchObject({ totalCount: 0, nodes: [] });
  });

  it('search treats %, _ and \\ as themselves, not as patterns', async () => {
    expect(idsOf(await search({ search: '00%' }))).toEqual([carol.id]);
    expect(idsOf(await search({ search: '100% ' }))).toEqual([carol.id]);
    expect(await search({ search: 'Quarterly%draft_' })).toMatchObject({ totalCount: 0 });
    expect(await search({ search: 'ice\\_' })).toMatchObject({ totalCount: 0 });
  });

  it('conditions combine: every one given must hold', async () => {
    expect(idsOf(await search({ types: ['POST'], search: 'report', deletedBy: ADMIN_ID }))).toEqual(sorted(ids.report, ids.draft));
    expect(idsOf(await search({ types: ['POST'], search: 'report', deletedBefore: at.photos }))).toEqual([ids.report]);
    expect(await search({ types: ['USER'], deletionId: bobDeletionId, search: 'recipe' })).toMatchObject({ totalCount: 0 });
  });

  it('pages through a filtered listing by cursor, newest deletion first, with a totalCount of the filter', async () => {
    const filter = { types: ['POST'], deletedAfter: at.report };
    const seen: TrashAnswer['nodes'] = [];
    let after: string | null = null;
    for (;;) {
      const response: GraphQLResponse = await server.gql(trashQuery, { filter, first: 1, after });
      expect(response.errors).toBeUndefined();
      const page = response.data.trash as TrashAnswer;
      expect(page.totalCount).toBe(4);
      seen.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.map((node) => node.id).sort()).toEqual(sorted(ids.report, ids.photos, ids.recipe, ids.draft));
    const times = seen.map((node) => Date.parse(node.deletedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('trash(filter) access', () => {
  it('anonymous callers are told to sign in', async () => {
    const error = onlyError(await server.gqlAs(null, trashQuery, { filter: { search: 'report' } }));
    expect(error.code).toBe('UNAUTHENTICATED');
  });

  it('a member sees only its own trashed records, whatever it filters by', async () => {
    // Alice owns both trashed posts, including the one an admin trashed.
    expect(idsOf(await search(null, aliceAuth))).toEqual(sorted(ids.report, ids.photos));
    expect(idsOf(await search({ deletedBy: ADMIN_ID }, aliceAuth))).toEqual([ids.report]);
    expect(idsOf(await search({ search: 'photos' }, aliceAuth))).toEqual([ids.photos]);
  });

  it("a member's filter never widens what it may see", async () => {
    for (const filter of [{ deletedBy: bob.id }, { deletionId: bobDeletionId }, { search: 'carol' }, { search: 'draft' }, { types: ['USER'] }]) {
      expect(await search(filter, aliceAuth)).toMatchObject({ totalCount: 0, nodes: [] });
    }
  });
});

describe('trash(filter) errors', () => {
  const errorOf = async (filter: Record<string, unknown>, extra: Record<string, unknown> = {}) => onlyError(await server.gql(trashQuery, { filter, ...extra }));

  it('a range that ends before it starts is BAD_USER_INPUT', async () => {
    expect(await errorOf({ deletedAfter: at.carol, deletedBefore: at.report })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'deletedBefore' } });
  });

  it('dates PostgreSQL cannot store are BAD_USER_INPUT, not internal errors', async () => {
    expect(await errorOf({ deletedAfter: '0000-01-01T00:00:00Z' })).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await errorOf({ deletedBefore: '+275760-09-13T00:00:00Z' })).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('an empty search matches everything, like no search', async () => {
    expect(idsOf(await search({ search: '' }))).toEqual(idsOf(await search(null)));
  });

  it('a search of fewer than three characters, an overlong one or one with a NUL character is BAD_USER_INPUT', async () => {
    expect(await errorOf({ search: 'ab' })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'search' } });
    expect(await errorOf({ search: 'x'.repeat(255) })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'search' } });
    expect(await errorOf({ search: 'a\u0000b' })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'search' } });
  });

  it('an unknown type is BAD_USER_INPUT', async () => {
    expect((await errorOf({ types: ['COMMENT'] })).code).toBe('BAD_USER_INPUT');
  });

  it('a variable value of the wrong type is BAD_USER_INPUT with HTTP 400, never an internal error', async () => {
    const response = await server.gql(trashQuery, { filter: { deletedAfter: 'last tuesday' } });
    expect(response.status).toBe(400);
    expect(onlyError(response)).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining('filter.deletedAfter') });
    const page = await server.gql('query($first: Int!) { trash(first: $first) { totalCount } }', { first: 'twenty' });
    expect(page.status).toBe(400);
    expect(onlyError(page).code).toBe('BAD_USER_INPUT');
  });

  it('a cursor from another listing is BAD_USER_INPUT, even when the filter rules out every type', async () => {
    const users = await server.gql('{ users(onlyDeleted: true, first: 1) { pageInfo { endCursor } } }');
    const after = users.data.users.pageInfo.endCursor;
    expect(await errorOf({ types: [] }, { after })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'after' } });
    expect(await errorOf({ search: 'report' }, { after })).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'after' } });
  });
});

describe('trash(filter) statement counts', () => {
  async function statementsFor(filter: Record<string, unknown>): Promise<number> {
    counter.reset();
    const response = await server.gql(trashQuery, { filter });
    expect(response.errors).toBeUndefined();
    return counter.statements().length;
  }

  it('one page statement and one count per type searched, whatever the filter', async () => {
    expect(await statementsFor({})).toBe(4);
    expect(await statementsFor({ search: 'report', deletedBy: ADMIN_ID, deletedAfter: at.report, deletedBefore: at.carol, deletionId: bobDeletionId })).toBe(4);
    expect(await statementsFor({ types: ['USER'], search: 'bob' })).toBe(2);
    expect(await statementsFor({ types: [] })).toBe(0);
  });
});
