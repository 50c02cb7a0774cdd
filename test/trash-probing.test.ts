import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberAuthorization } from './helpers/auth';
import { createStatementCounter } from './helpers/sql-counter';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

// Another member's trashed record must be indistinguishable from a missing id, in the answer and in
// the work done for it: the same statements, in the same order, so that timing tells nothing either.

const counter = createStatementCounter();
let server: TestServer;
let alice: string;
let bobsTrashedPost: string;
let carol: string;
let carolsPost: string;
const missing = '01900000-0000-7000-8000-000000000000';

async function createPost(authorId: string): Promise<string> {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title: 'private', body: 'text' },
  });
  return response.data.createPost.id as string;
}

beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
  alice = (await memberAuthorization((await createUser(server)).id)) as string;
  const bob = await createUser(server);
  bobsTrashedPost = await createPost(bob.id);
  await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: bobsTrashedPost });
  carol = (await createUser(server)).id;
  carolsPost = await createPost(carol);
  await deleteUser(server, carol);
});
afterAll(() => server?.stop());

/** The statements a request ran, with values and ids blanked out so that only their shape is compared. */
async function probe(query: string, id: string) {
  counter.reset();
  const response = await server.gqlAs(alice, query, { id });
  const statements = counter.statements().map((statement) =>
    statement
      .replace(/'[^']*'/g, '?')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '?')
      .replace(/\[took \d+ ms.*$/s, '')
      .trim(),
  );
  const [error] = response.errors ?? [];
  return { statements, code: error?.extensions?.code, message: error?.message.replace(id, '<id>'), data: response.data };
}

describe('another member’s trashed record answers like a missing id, with the same statements', () => {
  const restorePreview = `query($id: ID!) { restorePreview(id: $id) { restorable } }`;
  const restorePost = `mutation($id: ID!) { restorePost(id: $id) { id } }`;

  it.each([
    ['a post trashed on its own', () => bobsTrashedPost],
    ['a trashed user', () => carol],
    ['a post trashed with its author', () => carolsPost],
  ])('restorePreview of %s', async (_name, id) => {
    const absent = await probe(restorePreview, missing);
    const hidden = await probe(restorePreview, id());
    expect(absent.code).toBe('NOT_FOUND');
    expect(hidden).toEqual(absent);
    expect(hidden.statements.length).toBeGreaterThan(0);
  });

  it.each([
    ['a post trashed on its own', () => bobsTrashedPost],
    ['a post trashed with its author', () => carolsPost],
  ])('restorePost of %s', async (_name, id) => {
    // The first write of a request also checks the member's own user: warm both paths the same way.
    const absent = await probe(restorePost, missing);
    const hidden = await probe(restorePost, id());
    expect(absent.code).toBe('NOT_FOUND');
    expect(hidden).toEqual(absent);
    expect(hidden.statements.length).toBeGreaterThan(0);
  });

  it('the owner still gets its preview and its restore', async () => {
    const bobsPostOwner = await server.sql.query('select author_id from posts where id = $1', [bobsTrashedPost]);
    const bob = await memberAuthorization(bobsPostOwner.rows[0].author_id);
    const preview = await server.gqlAs(bob, `query($id: ID!) { restorePreview(id: $id) { restorable items { ... on Post { id } } } }`, {
      id: bobsTrashedPost,
    });
    expect(preview.data.restorePreview).toEqual({ restorable: true, items: [{ id: bobsTrashedPost }] });
    const restored = await server.gqlAs(bob, `mutation($id: ID!) { restorePost(id: $id) { id isDeleted } }`, { id: bobsTrashedPost });
    expect(restored.data.restorePost).toEqual({ id: bobsTrashedPost, isDeleted: false });
  });
});
