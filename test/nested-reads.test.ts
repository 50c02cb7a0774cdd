import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberAuthorization } from './helpers/auth';
import { POST_FIELDS } from './helpers/posts';
import { seedUsersWithPosts } from './helpers/seed';
import { createStatementCounter } from './helpers/sql-counter';
import { startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { USER_FIELDS } from './helpers/users';

const counter = createStatementCounter();
let server: TestServer;
let userIds: string[];
let member: string;

beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
  userIds = await seedUsersWithPosts(server.sql, { prefix: 'nested', users: 12, postsPerUser: 6 });
  // The member's own posts and another user's are partly trashed; one user is trashed with all of its posts.
  await server.sql.query(
    `update posts set deleted_at = now(), deletion_id = gen_random_uuid() where author_id = any($1) and title in ('post 1', 'post 4')`,
    [[userIds[1], userIds[2]]],
  );
  await server.sql.query(`update users set deleted_at = now(), deletion_id = gen_random_uuid() where id = $1`, [userIds[3]]);
  await server.sql.query(`update posts set deleted_at = now(), deletion_id = gen_random_uuid() where author_id = $1 and deleted_at is null`, [userIds[3]]);
  member = await memberAuthorization(userIds[1]);
});
afterAll(() => server?.stop());

async function run(authorization: string | null, query: string, variables?: Record<string, unknown>): Promise<{ response: GraphQLResponse; statements: number }> {
  counter.reset();
  const response = await server.gqlAs(authorization, query, variables);
  return { response, statements: counter.statements().length };
}

/**
 * The same query with `@include(if: true)` on the nested field: the same
 * request to a client, but a directive keeps the nested field out of the
 * users statement, so it takes the batched path the compiled one must match.
 */
const batched = (query: string) => query.replace(/(posts\([^)]*\))/g, '$1 @include(if: true)');

describe('users { posts } read in one statement answers exactly as the batched path', () => {
  const shapes: Array<[string, string, Record<string, unknown>?]> = [
    ['live posts with totalCount', `{ users(first: 8) { nodes { id posts(first: 3) { totalCount nodes { ${POST_FIELDS} } pageInfo { hasNextPage endCursor } } } } }`],
    ['every post, all users', `{ users(first: 8, includeDeleted: true) { nodes { ${USER_FIELDS} posts(first: 4, includeDeleted: true) { totalCount nodes { id isDeleted author { username } } } } } }`],
    ['only trashed posts', `{ users(first: 8, includeDeleted: true) { nodes { id posts(first: 2, onlyDeleted: true) { totalCount nodes { id deletedAt } } } } }`],
    ['edges, fragments and an alias', `query { users(first: 5) { edges { cursor node { ...U } } } } fragment U on User { id mine: posts(first: 2) { totalCount nodes { title } } }`],
    ['variables and a page after a cursor', `query($first: Int!, $after: String) { users(first: 6) { nodes { id posts(first: $first, after: $after) { nodes { id } } } } }`],
  ];

  for (const [name, query, variables] of shapes) {
    it(`${name}: the same data, with fewer statements`, async () => {
      let vars = variables;
      if (name.includes('after a cursor')) {
        // A cursor of the posts listing; every user's page continues after that position.
        const first = await server.gql(`{ users(first: 1) { nodes { posts(first: 2) { pageInfo { endCursor } } } } }`);
        vars = { first: 3, after: first.data.users.nodes[0].posts.pageInfo.endCursor };
      }
      for (const authorization of [null, member]) {
        if (authorization === null && /includeDeleted|onlyDeleted/.test(query)) continue;
        const compiled = await run(authorization, query, vars);
        const fallback = await run(authorization, batched(query), vars);
        expect(compiled.response.errors).toBeUndefined();
        expect(compiled.response).toEqual(fallback.response);
        expect(compiled.statements).toBeLessThan(fallback.statements);
      }
    });
  }

  it('unrestricted listings take one statement, totals included; so does a member\'s, whose own trashed posts are counted inside it', async () => {
    const query = `{ users(first: 8) { nodes { id posts(first: 3, includeDeleted: true) { totalCount nodes { id } } } } }`;
    expect((await run(null, `{ users(first: 8) { nodes { posts(first: 3) { totalCount nodes { id } } } } }`)).statements).toBe(1);
    const asMember = await run(member, query);
    expect(asMember.statements).toBe(1);
    expect(counter.statements()[0]).toMatch(/select count\(\*\) from "posts"/);
    const own = asMember.response.data.users.nodes.find((user: { id: string }) => user.id === userIds[1]);
    const other = asMember.response.data.users.nodes.find((user: { id: string }) => user.id === userIds[2]);
    // Own posts: all 6; another user's: only its 4 live ones.
    expect([own.posts.totalCount, other.posts.totalCount]).toEqual([6, 4]);
  });

  it('arguments found valid once are remembered by value only: other values are still validated, and refused ones every time', async () => {
    const valid = await run(null, `{ users(first: 3) { nodes { posts(first: 2) { nodes { id } } } } }`);
    expect(valid.response.errors).toBeUndefined();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      for (const first of [0, 101]) {
        const refused = await run(null, `{ users(first: 3) { nodes { posts(first: ${first}) { nodes { id } } } } }`);
        expect(refused.response.errors?.[0]?.extensions?.code, `first: ${first}`).toBe('BAD_USER_INPUT');
        expect(refused.response.errors?.[0]?.extensions?.field, `first: ${first}`).toBe('first');
      }
    }
    expect((await run(null, `{ users(first: 101) { nodes { id } } }`)).response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('nested arguments that are refused or invalid give the same errors as before, on the nested field', async () => {
    for (const query of [
      `{ users(first: 3) { nodes { id posts(first: 2, includeDeleted: true) { nodes { id } } } } }`,
      `{ users(first: 3) { nodes { id posts(first: 0) { nodes { id } } } } }`,
      `{ users(first: 3) { nodes { id posts(first: 2, after: "not-a-cursor") { nodes { id } } } } }`,
    ]) {
      const compiled = await run(null, query);
      const fallback = await run(null, batched(query));
      expect(compiled.response.errors?.length, query).toBeGreaterThan(0);
      // The directive moves the error's column, nothing else.
      const withoutLocations = ({ errors, ...rest }: GraphQLResponse) => ({ ...rest, errors: errors?.map(({ locations: _, ...error }: any) => error) });
      expect(withoutLocations(compiled.response)).toEqual(withoutLocations(fallback.response));
    }
  });
});
