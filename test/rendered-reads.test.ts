import { Kind, parse, print, visit, type OperationDefinitionNode } from 'graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PREPARED_RENDERED_STATEMENTS, readJson } from '../src/db/compiled/json-reads';
import { ReadExecutor } from '../src/db/compiled/read-executor';
import { withPgClient } from '../src/db/read-routing';
import { User } from '../src/modules/user/user.entity';
import { renderedReads } from '../src/graphql/rendered-reads';
import { renderableFields } from '../src/modules/rendered-fields';
import { buildAppSchema } from '../src/schema';
import { adminAuthorization, memberAuthorization } from './helpers/auth';
import { seedUsersWithPosts } from './helpers/seed';
import { createStatementCounter } from './helpers/sql-counter';
import { startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';

/**
 * Reads answered with JSON written by PostgreSQL (src/graphql/rendered-reads.ts)
 * must answer exactly as the executor and the resolvers do. Every query here
 * is sent twice: as it is, and with `@include(if: true)` on each root field,
 * which changes nothing for a client but keeps the request out of the
 * rendered path. Both answers must be equal, for each kind of caller.
 */

const counter = createStatementCounter();
let server: TestServer;
let userIds: string[];
let trashedUserId: string;
let oddUserId: string;
let livePostId: string;
/** A trashed post of the member's own. */
let trashedPostOfMember: string;
let member: string;
let admin: string;

/** A value JSON escapes in every way it can: quotes, backslash, control characters, astral and separator code points. */
const ODD_NAME = 'He said "hi" \\ back\nslash\ttab \u0001 ☃ 😀 \u2028 </script>';

beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
  userIds = await seedUsersWithPosts(server.sql, { prefix: 'rendered', users: 14, postsPerUser: 4 });
  oddUserId = userIds[2];
  // Microseconds, which GraphQL writes truncated to milliseconds; and a name that needs escaping.
  await server.sql.query(`update users set display_name = $2, created_at = timestamptz '2030-03-04 05:06:07.891789+00' where id = $1`, [oddUserId, ODD_NAME]);
  await server.sql.query(`update posts set created_at = timestamptz '2029-01-02 03:04:05.000999+00' where author_id = $1 and title = 'post 2'`, [oddUserId]);
  // A trashed user with its posts, and a member whose own posts are partly trashed.
  trashedUserId = userIds[5];
  // Milliseconds, as the server writes them (cursors carry milliseconds).
  await server.sql.query(
    `update users set deleted_at = date_trunc('milliseconds', now()), deletion_id = gen_random_uuid(), deleted_by = $1, purge_at = date_trunc('milliseconds', now()) + interval '30 days' where id = $1`,
    [trashedUserId],
  );
  await server.sql.query(`update posts set deleted_at = u.deleted_at, deletion_id = u.deletion_id from users u where u.id = posts.author_id and u.id = $1`, [trashedUserId]);
  await server.sql.query(
    `update posts set deleted_at = date_trunc('milliseconds', now()) - interval '1 hour', deletion_id = gen_random_uuid() where author_id = any($1) and title = 'post 3'`,
    [[userIds[1], userIds[4]]],
  );
  const { rows } = await server.sql.query<{ id: string }>(`select id from posts where author_id = $1 and deleted_at is null order by created_at desc limit 1`, [userIds[1]]);
  livePostId = rows[0].id;
  const trashed = await server.sql.query<{ id: string }>(`select id from posts where author_id = $1 and deleted_at is not null limit 1`, [userIds[1]]);
  trashedPostOfMember = trashed.rows[0].id;
  member = await memberAuthorization(userIds[1]);
  admin = await adminAuthorization();
});
afterAll(() => server?.stop());

/** The same query with `@include(if: true)` on each root field: not rendered. */
function executed(query: string): string {
  return print(
    visit(parse(query), {
      OperationDefinition(operation: OperationDefinitionNode) {
        return {
          ...operation,
          selectionSet: {
            ...operation.selectionSet,
            selections: operation.selectionSet.selections.map((selection) =>
              selection.kind !== Kind.FIELD
                ? selection
                : {
                    ...selection,
                    directives: [
                      {
                        kind: Kind.DIRECTIVE,
                        name: { kind: Kind.NAME, value: 'include' },
                        arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'if' }, value: { kind: Kind.BOOLEAN, value: true } }],
                      },
                    ],
                  },
            ),
          },
        };
      },
    }),
  );
}

/** Whether a statement is the rendered path's: every root written as JSON text. */
const isRendered = (statement: string) => statement.includes(') as "r0"');

async function run(authorization: string | null, query: string, variables?: Record<string, unknown>): Promise<{ response: GraphQLResponse; statements: string[] }> {
  counter.reset();
  const response = await server.gqlAs(authorization, query, variables);
  return { response, statements: counter.statements() };
}

const callers = () => [
  ['anonymous', null],
  ['member', member],
  ['admin', admin],
] as const;

const USER_COLUMNS = 'id username email displayName createdAt updatedAt version deletedAt deletedBy deletionId purgeAt isDeleted __typename';

describe('a read PostgreSQL writes answers exactly as the executor does, in one statement', () => {
  const shapes: Array<[string, string, (() => Record<string, unknown>)?]> = [
    ['every column of a users page', `{ users(first: 10) { nodes { ${USER_COLUMNS} } } }`],
    ['connection fields, edges with cursors, page info', `{ users(first: 3) { __typename totalCount pageInfo { __typename hasNextPage endCursor } edges { __typename cursor node { id } } } }`],
    ['all users with totals (a member counts its own trashed rows)', `{ users(first: 20, includeDeleted: true) { totalCount pageInfo { hasNextPage endCursor } nodes { id isDeleted deletedAt } } }`],
    ['only trashed users', `{ users(first: 20, onlyDeleted: true) { totalCount nodes { id deletedAt deletionId purgeAt } } }`],
    ['aliases, named and inline fragments on the interfaces', `query Q { list: users(first: 4) { all: nodes { ...Who key: id ... on Trashable { gone: isDeleted } } } } fragment Who on User { name: username ... on Node { __typename } }`],
    ['a page after a cursor, through variables', `query($after: String, $first: Int!) { users(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id createdAt } } }`, () => ({ first: 4 })],
    ['a user by id', `query($id: ID!) { user(id: $id) { ${USER_COLUMNS} } }`, () => ({ id: oddUserId })],
    ['a trashed user by id, without includeDeleted: null', `query($id: ID!) { user(id: $id) { id } }`, () => ({ id: trashedUserId })],
    ['a missing user: null', `{ user(id: "00000000-0000-7000-8000-000000000001") { id } }`],
    ['a trashed user by id with includeDeleted: its owner and admins see it, others get null', `query($id: ID!) { user(id: $id, includeDeleted: true) { id deletedAt isDeleted posts(first: 3, includeDeleted: true) { totalCount nodes { id } } } }`, () => ({ id: trashedUserId })],
    ['a live user and a trashed post by id with includeDeleted', `query($user: ID!, $post: ID!) { u: user(id: $user, includeDeleted: true) { id } p: post(id: $post, includeDeleted: true) { id title deletedAt author { id } } }`, () => ({ user: userIds[1], post: trashedPostOfMember })],
    ['a post by id, with its author', `query($id: ID!) { post(id: $id) { id title isDeleted author { id username isDeleted } } }`, () => ({ id: livePostId })],
    ['posts with their authors, trashed ones included', `{ posts(first: 30, includeDeleted: true) { totalCount nodes { id title createdAt deletedAt author { username deletedAt } } } }`],
    ["one author's posts, trashed ones included, with their total", `query($author: ID!) { posts(first: 3, authorId: $author, includeDeleted: true) { totalCount pageInfo { hasNextPage endCursor } nodes { id title deletedAt } } }`, () => ({ author: userIds[1] })],
    ["one author's live posts, and an unknown author's", `query($author: ID!) { mine: posts(first: 2, authorId: $author) { totalCount nodes { id } } none: posts(authorId: "00000000-0000-7000-8000-000000000009") { totalCount nodes { id } } }`, () => ({ author: userIds[4] })],
    ['users with their posts pages', `{ users(first: 8, includeDeleted: true) { nodes { id posts(first: 2, includeDeleted: true) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { title createdAt } } } } } }`],
    ['users with their trashed posts', `{ users(first: 8) { nodes { id posts(first: 5, onlyDeleted: true) { totalCount nodes { id deletedAt } } } } }`],
    ['several roots in one operation', `query($id: ID!) { __typename a: users(first: 2) { nodes { id } } b: user(id: $id) { username } c: posts(first: 1) { totalCount } }`, () => ({ id: userIds[0] })],
    ['the trash, across entity types', `{ trash(first: 3) { __typename totalCount pageInfo { hasNextPage endCursor } edges { cursor node { __typename ... on Trashable { id deletionId deletedAt purgeAt isDeleted } ... on User { username } ... on Post { title author { username } } } } } }`],
    ['the trash through a named fragment, with a nested connection', `query { trash(first: 20) { totalCount nodes { ...Item } } } fragment Item on TrashItem { ... on User { id posts(first: 2, onlyDeleted: true) { totalCount nodes { id } } } ... on Post { id deletedAt } }`],
    ['an empty page', `{ users(first: 5, onlyDeleted: true, after: "WyJ0cmFzaGVkIiwiMjAwMC0wMS0wMVQwMDowMDowMC4wMDBaIiwiMDAwMDAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAwIl0") { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }`],
  ];

  for (const [name, query, variablesOf] of shapes) {
    it(name, async () => {
      for (const [caller, authorization] of callers()) {
        if (authorization === null && /includeDeleted|onlyDeleted|trash\(/.test(query)) continue;
        const variables = variablesOf?.();
        const rendered = await run(authorization, query, variables);
        const expected = await run(authorization, executed(query), variables);
        expect(rendered.response.errors, caller).toBeUndefined();
        expect(rendered.response, caller).toEqual(expected.response);
        expect(rendered.statements, `${caller}: ${rendered.statements.join("\n")}`).toHaveLength(1);
        expect(rendered.statements.filter(isRendered), caller).toHaveLength(1);
        expect(expected.statements.some(isRendered), caller).toBe(false);
      }
    });
  }

  async function pageThrough(field: 'users' | 'trash', query: string): Promise<string[]> {
    let after: string | null = null;
    const seen: string[] = [];
    for (let page = 0; page < 20; page += 1) {
      const rendered = await run(admin, query, { after });
      const expected = await run(admin, executed(query), { after });
      expect(rendered.response).toEqual(expected.response);
      expect(rendered.statements.filter(isRendered)).toHaveLength(1);
      const connection = rendered.response.data[field];
      seen.push(...connection.edges.map((edge: { node: { id: string } }) => edge.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    return seen;
  }

  it('pages through every user with the cursors it writes, as the executor does', async () => {
    const seen = await pageThrough('users', `query($after: String) { users(first: 4, includeDeleted: true, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }`);
    expect(new Set(seen).size).toBe(userIds.length);
  });

  it('pages through the whole trash, users and posts merged, as the executor does', async () => {
    const seen = await pageThrough('trash', `query($after: String) { trash(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { ... on Trashable { id } } } } }`);
    const { rows } = await server.sql.query(`select (select count(*) from users where deleted_at is not null) + (select count(*) from posts where deleted_at is not null) as n`);
    expect(seen).toHaveLength(Number(rows[0].n));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('writes timestamps with milliseconds, truncated as JavaScript does, and text exactly as stored', async () => {
    const { response } = await run(null, `query($id: ID!) { user(id: $id) { displayName createdAt posts(first: 4) { nodes { title createdAt } } } }`, { id: oddUserId });
    expect(response.data.user.displayName).toBe(ODD_NAME);
    expect(response.data.user.createdAt).toBe('2030-03-04T05:06:07.891Z');
    expect(response.data.user.posts.nodes.find((post: { title: string }) => post.title === 'post 2').createdAt).toBe('2029-01-02T03:04:05.000Z');
  });
});

describe('what is not rendered is executed as before', () => {
  const notRendered: Array<[string, string, string | null]> = [
    ['a text field that can be long (its size is accounted)', `{ users(first: 3) { nodes { id deleteReason } } }`, null],
    ['a post body', `{ posts(first: 3) { nodes { id body } } }`, null],
    ["posts of an author id that is not a UUID (an empty page, answered without a statement)", `{ posts(first: 3, authorId: "nobody") { totalCount nodes { id } } }`, null],
    ['a directive inside the selection', `{ users(first: 3) { nodes { id username @skip(if: false) } } }`, null],
    ['the same response key twice', `{ users(first: 3) { nodes { id } nodes { username } } }`, null],
    ['a trash search (its input is validated by the resolver)', `{ trash(first: 3, filter: { types: [USER] }) { nodes { __typename ... on Trashable { id } } } }`, 'admin'],
    ['a field with a resolver in a root that would be rendered', `{ users(first: 2) { nodes { id } } auditEvents(first: 1) { totalCount } }`, 'admin'],
  ];

  for (const [name, query, caller] of notRendered) {
    it(name, async () => {
      const { response, statements } = await run(caller === 'admin' ? admin : null, query);
      expect(response.errors).toBeUndefined();
      expect(statements.some(isRendered)).toBe(false);
    });
  }

  it('errors are the executor\'s own: invalid page sizes, cursors and callers not allowed', async () => {
    for (const [query, code, authorization] of [
      [`{ users(first: 0) { nodes { id } } }`, 'BAD_USER_INPUT', null],
      [`{ users(first: 101) { nodes { id } } }`, 'BAD_USER_INPUT', null],
      [`{ users(first: 2, after: "not-a-cursor") { nodes { id } } }`, 'BAD_USER_INPUT', null],
      [`{ users(first: 2, includeDeleted: true) { nodes { id } } }`, 'UNAUTHENTICATED', null],
      [`{ users(first: 2) { nodes { id posts(first: 2, onlyDeleted: true) { nodes { id } } } } }`, 'UNAUTHENTICATED', null],
      [`{ users(first: 2) { nodes { posts(first: 0) { nodes { id } } } } }`, 'BAD_USER_INPUT', member],
    ] as const) {
      const rendered = await run(authorization, query);
      const expected = await run(authorization, executed(query));
      expect(rendered.response.errors?.[0]?.extensions?.code, query).toBe(code);
      const withoutLocations = ({ errors, ...rest }: GraphQLResponse) => ({ ...rest, errors: errors?.map(({ locations: _, ...error }: any) => error) });
      expect(withoutLocations(rendered.response), query).toEqual(withoutLocations(expected.response));
      expect(rendered.statements.some(isRendered), query).toBe(false);
    }
  });

  it('a total asked for by several roots is counted once: a member\'s own trashed users, counted over the table', async () => {
    const aliases = Array.from({ length: 10 }, (_, i) => `a${i}: users(first: 1, onlyDeleted: true) { totalCount }`).join(' ');
    const { response, statements } = await run(member, `{ ${aliases} b: users(first: 1) { totalCount } }`);
    expect(response.errors).toBeUndefined();
    expect(statements).toHaveLength(1);
    expect(statements[0].match(/select count\(\*\)/g)).toHaveLength(1);
    expect(statements[0].match(/from "row_counts"/g)).toHaveLength(1);
    expect(new Set(Object.entries(response.data).filter(([key]) => key.startsWith('a')).map(([, page]: [string, any]) => page.totalCount))).toEqual(new Set([0]));
  });

  it('a member sees only its own trashed rows, rendered or not', async () => {
    const { response, statements } = await run(member, `{ users(first: 20, onlyDeleted: true) { totalCount nodes { id } } posts(first: 50, onlyDeleted: true) { totalCount nodes { author { id } } } }`);
    expect(statements.filter(isRendered)).toHaveLength(1);
    expect(response.data.users).toEqual({ totalCount: 0, nodes: [] });
    expect(response.data.posts.totalCount).toBe(1);
    expect(response.data.posts.nodes).toEqual([{ author: { id: userIds[1] } }]);
  });
});

describe('a rendered statement PostgreSQL refuses', () => {
  it('is reported to the failure hook and the request is executed instead', async () => {
    const schema = await buildAppSchema();
    const failures: unknown[] = [];
    // A computed field whose SQL PostgreSQL cannot run stands for any defect of the rendered path.
    const broken = { ...renderableFields, computed: { isDeleted: { properties: ['deletedAt'], sql: () => 'no_such_function()', json: 'boolean' as const } }, failed: (_: unknown, error: unknown) => failures.push(error) };
    const render = renderedReads(schema, server.app.orm.getMetadata(), broken);
    const document = parse(`{ user(id: "${userIds[0]}") { id isDeleted } }`);
    // What the renderer asks of the request's services for this query: the executor, and who may see a user by id.
    const context = { services: { reads: new ReadExecutor(server.app.orm.em.fork() as EntityManager), users: { renderedVisibility: () => ({ deletedAt: null }) } } };
    const request = { document, operation: document.definitions[0], request: { variables: {} }, context };
    expect(await render(request as never)).toBeUndefined();
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toMatch(/no_such_function/);
    // The same request through the server: the executor's answer.
    const { response } = await run(null, `{ user(id: "${userIds[0]}") { id isDeleted } }`);
    expect(response.data.user).toEqual({ id: userIds[0], isDeleted: false });
  });
});

describe('rendered statements prepared by name', () => {
  it(`are bounded (${MAX_PREPARED_RENDERED_STATEMENTS}): past that, a new shape runs unnamed, with the same answer`, async () => {
    const names: Array<string | undefined> = [];
    const em = server.app.orm.em.fork() as EntityManager;
    // Every statement's name, as it reaches the pg client.
    const reads = new ReadExecutor(em, (work) =>
      withPgClient(em, (client) => {
        const query = client.query.bind(client) as (config: { name?: string }) => unknown;
        return work(Object.assign(Object.create(client), { query: (config: { name?: string }) => (names.push(config.name), query(config)) }));
      }),
    );
    const node = { entity: User, fields: [{ key: 'id', value: { kind: 'column' as const, property: 'id' } }] };
    // A distinct response key makes a distinct statement text, as aliases chosen by clients do.
    const shapeWithKey = (index: number) => [{ kind: 'byId' as const, id: userIds[0], where: { deletedAt: null }, node: { ...node, fields: [{ ...node.fields[0], key: `k${index}` }] } }];
    for (let index = 0; index < MAX_PREPARED_RENDERED_STATEMENTS + 5; index += 1) {
      expect(await readJson(reads, shapeWithKey(index))).toEqual([`{"k${index}":"${userIds[0]}"}`]);
    }
    const named = new Set(names.filter((name) => name !== undefined));
    expect(named.size).toBeLessThanOrEqual(MAX_PREPARED_RENDERED_STATEMENTS);
    expect(names.slice(-5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // A shape prepared before keeps its name.
    names.length = 0;
    await readJson(reads, shapeWithKey(0));
    expect(names[0]).toMatch(/^rendered_/);
  });
});

describe('generated queries', () => {
  /** A small deterministic generator (mulberry32), so that a failure names a seed that reproduces it. */
  function generator(seed: number) {
    let state = seed >>> 0;
    const next = () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
    const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)];
    const some = <T>(items: readonly T[]): T[] => {
      const chosen = items.filter(() => next() < 0.4);
      return chosen.length > 0 ? chosen : [pick(items)];
    };
    return { next, int, pick, some };
  }

  const USER = ['id', 'username', 'email', 'displayName', 'createdAt', 'updatedAt', 'version', 'deletedAt', 'deletedBy', 'deletionId', 'purgeAt', 'isDeleted', '__typename'];
  const POST = ['id', 'title', 'createdAt', 'updatedAt', 'version', 'deletedAt', 'deletionId', 'purgeAt', 'isDeleted', '__typename'];
  const visibility = (random: ReturnType<typeof generator>) => random.pick(['', ', includeDeleted: true', ', onlyDeleted: true']);

  function queryFor(seed: number): string {
    const random = generator(seed);
    let alias = 0;
    const field = (name: string) => (random.next() < 0.2 ? `a${alias++}: ${name}` : name);
    const user = (depth: number): string => {
      const fields = random.some(USER).map(field);
      if (depth === 0 && random.next() < 0.4) fields.push(`${field('posts')}(first: ${random.int(1, 3)}${visibility(random)}) { ${connection(() => post(depth + 1))} }`);
      return random.next() < 0.2 ? `...on Trashable { ${fields.join(' ')} }` : fields.join(' ');
    };
    const post = (depth: number): string => {
      const fields = random.some(POST).map(field);
      if (depth < 2 && random.next() < 0.3) fields.push(`${field('author')} { ${user(2)} }`);
      return fields.join(' ');
    };
    const connection = (node: () => string): string => {
      const parts = random.some(['totalCount', 'pageInfo', 'nodes', 'edges', '__typename']).map((part) => {
        if (part === 'pageInfo') return `${field('pageInfo')} { ${random.some(['hasNextPage', 'endCursor', '__typename']).join(' ')} }`;
        if (part === 'nodes') return `${field('nodes')} { ${node()} }`;
        if (part === 'edges') return `${field('edges')} { ${random.some(['cursor', 'node', '__typename']).map((item) => (item === 'node' ? `node { ${node()} }` : item)).join(' ')} }`;
        return field(part);
      });
      return parts.join(' ');
    };
    const trashItem = () => `__typename ... on Trashable { id deletedAt } ... on User { ${user(1)} } ... on Post { ${post(1)} }`;
    const roots = Array.from({ length: random.int(1, 2) }, (_, index) => {
      const key = `r${index}: `;
      switch (random.pick(['users', 'posts', 'trash', 'user', 'post'])) {
        case 'users':
          return `${key}users(first: ${random.int(1, 8)}${visibility(random)}) { ${connection(() => user(0))} }`;
        case 'posts':
          return `${key}posts(first: ${random.int(1, 8)}${visibility(random)}${random.pick(['', '', `, authorId: "${userIds[1]}"`, `, authorId: "${userIds[4]}"`])}) { ${connection(() => post(0))} }`;
        case 'trash':
          return `${key}trash(first: ${random.int(1, 8)}) { ${connection(trashItem)} }`;
        case 'user':
          return `${key}user(id: "${random.pick([...userIds.slice(0, 4), trashedUserId, '00000000-0000-7000-8000-000000000009'])}"${random.pick(['', ', includeDeleted: true'])}) { ${user(0)} }`;
        default:
          return `${key}post(id: "${random.pick([livePostId, trashedPostOfMember, '00000000-0000-7000-8000-000000000009'])}"${random.pick(['', ', includeDeleted: true'])}) { ${post(0)} }`;
      }
    });
    return `{ ${roots.join(' ')} }`;
  }

  it('answer as the executor does, for every caller (150 queries from fixed seeds, as three callers)', async () => {
    // Errors come from the executor either way (the rendered path only answers what succeeds); which of two failing
    // root fields the executor reports first depends on timing, so they are compared without their place.
    const comparable = ({ errors, ...rest }: GraphQLResponse) => ({ ...rest, errors: errors?.map(({ message, extensions }) => JSON.stringify({ message, extensions })).sort() });
    let rendered = 0;
    for (let seed = 1; seed <= 150; seed += 1) {
      const query = queryFor(seed);
      for (const [caller, authorization] of callers()) {
        const answer = await run(authorization, query);
        const expected = await run(authorization, executed(query));
        expect(comparable(answer.response), `seed ${seed}, ${caller}: ${query}`).toEqual(comparable(expected.response));
        if (answer.statements.some(isRendered)) rendered += 1;
      }
    }
    // Over half of the 450 requests are rendered (the others are anonymous callers asking for the trash, and the like): the comparison is not between two executions.
    expect(rendered).toBeGreaterThan(200);
  }, 120_000);
});
