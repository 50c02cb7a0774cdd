import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization } from './helpers/auth';
import { startTestServer, type TestServer } from './helpers/test-server';
import { createUser } from './helpers/users';

/**
 * Malformed, hostile and out-of-range requests of every kind the API can be
 * sent, in production and development mode: none may answer 5xx or
 * INTERNAL_SERVER_ERROR, and every error carries a documented code.
 */
const DOCUMENTED_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'PRECONDITION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'QUERY_TOO_COMPLEX',
  'RESPONSE_TOO_LARGE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

interface MalformedRequest {
  name: string;
  /** A raw JSON body, or an object to serialise; ignored for GET. */
  body?: unknown;
  raw?: string;
  method?: 'GET' | 'POST' | 'PUT';
  path?: string;
  headers?: Record<string, string>;
}

interface Fixtures {
  userId: string;
  postId: string;
}

const cursor = (order: string, date: string, id = '019ac3f2-6a1e-7c3b-9a57-3f2c1d0e8b41') =>
  Buffer.from(JSON.stringify([order, date, id])).toString('base64url');

function deeplyNested(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

function malformedRequests({ userId, postId }: Fixtures): MalformedRequest[] {
  const requests: MalformedRequest[] = [];
  const gql = (name: string, query: unknown, variables?: unknown, extra: Record<string, unknown> = {}) =>
    requests.push({ name, body: { query, variables, ...extra } });

  // Variables that do not coerce (and the same mistakes inline).
  const byId = 'query($id: ID!) { user(id: $id) { id } }';
  for (const [label, id] of Object.entries({ object: { a: 1 }, array: [1, 2], null: null, number: 1.5, bool: true })) {
    gql(`ID! given as ${label}`, byId, { id });
  }
  gql('ID! missing', byId, {});
  const pageOf = (field: string) => `query($n: Int!) { ${field}(first: $n) { totalCount } }`;
  for (const field of ['users', 'posts', 'trash', 'auditEvents']) {
    for (const [label, n] of Object.entries({ string: '20', float: 1.5, huge: 2147483648, bool: true, null: null, object: { n: 1 }, zero: 0, negative: -5, over: 101 })) {
      gql(`${field} first as ${label}`, pageOf(field), { n });
    }
    gql(`${field} first inline float`, `{ ${field}(first: 1.5) { totalCount } }`);
    gql(`${field} first inline string`, `{ ${field}(first: "20") { totalCount } }`);
  }
  const create = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }';
  for (const [label, input] of Object.entries({
    string: 'x',
    null: null,
    array: [],
    'unknown field': { username: 'abc', email: 'a@example.com', bogus: 1 },
    'missing email': { username: 'abc' },
    'number username': { username: 5, email: 'a@example.com' },
  })) {
    gql(`CreateUserInput as ${label}`, create, { input });
  }
  gql('CreateUserInput missing', create, {});
  gql('includeDeleted "yes"', 'query($d: Boolean!) { users(includeDeleted: $d) { totalCount } }', { d: 'yes' });
  gql('onlyDeleted as number', 'query($d: Boolean!) { posts(onlyDeleted: $d) { totalCount } }', { d: 1 });
  const empty = 'mutation($t: DateTimeISO) { emptyTrash(olderThan: $t) }';
  for (const [label, t] of Object.entries({
    number: 1_700_000_000,
    text: 'yesterday',
    'year 0': '0000-01-01T00:00:00Z',
    'year 275760': '+275760-09-13T00:00:00.000Z',
    'negative year': '-000001-01-01T00:00:00Z',
    object: { at: 1 },
    'no zone': '2026-01-01T00:00:00',
  })) {
    gql(`DateTimeISO as ${label}`, empty, { t });
  }
  gql('DateTimeISO inline year 0', 'mutation { emptyTrash(olderThan: "0000-01-01T00:00:00Z") }');
  gql('DateTimeISO inline year 10000', 'mutation { emptyTrash(olderThan: "+010000-01-01T00:00:00Z") }');
  gql('variables as a string', '{ __typename }', 'x');
  gql('variables as an array', '{ __typename }', [1]);
  gql('updateUser expectedVersion as string', 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }', {
    id: userId,
    input: { expectedVersion: '1' },
  });

  // Operation names.
  gql('unknown operationName', 'query A { users { totalCount } }', undefined, { operationName: 'B' });
  gql('operationName absent from two operations', 'query A { __typename } query B { __typename }', undefined, { operationName: 'C' });
  gql('no operationName with two operations', 'query A { __typename } query B { __typename }');
  gql('operationName as a number', 'query A { __typename }', undefined, { operationName: 5 });
  gql('very long unknown operationName', 'query A { __typename }', undefined, { operationName: 'x'.repeat(5000) });

  // Deep and junk variables.
  requests.push({ name: 'unused variable nested 10,000 levels', raw: `{"query":"{ __typename }","variables":{"deep":${deeplyNested(10_000)}}}` });
  requests.push({
    name: 'declared String variable nested 10,000 levels',
    raw: `{"query":"query($s: String) { __typename }","variables":{"s":${deeplyNested(10_000)}}}`,
  });
  requests.push({
    name: 'input variable nested 10,000 levels',
    raw: `{"query":"mutation($input: CreateUserInput!) { createUser(input: $input) { id } }","variables":{"input":${deeplyNested(10_000)}}}`,
  });
  gql('prototype keys in variables', 'query($id: ID!) { user(id: $id) { id } }', JSON.parse('{"id":"x","__proto__":{"polluted":true}}'));

  // NUL in every free text, by variable and inline.
  const nul = 'a\u0000b';
  gql('NUL in displayName (create)', create, { input: { username: 'nul_user', email: 'nul@example.com', displayName: nul } });
  gql('NUL in email (create)', create, { input: { username: 'nul_user2', email: `x${nul}@example.com` } });
  gql('NUL in username (create)', create, { input: { username: nul, email: 'nul3@example.com' } });
  const updateUser = 'mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }';
  gql('NUL in displayName (update)', updateUser, { id: userId, input: { displayName: nul } });
  gql('NUL in email (update)', updateUser, { id: userId, input: { email: `y${nul}@example.com` } });
  const createPost = 'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }';
  gql('NUL in title (create)', createPost, { input: { authorId: userId, title: nul, body: 'b' } });
  gql('NUL in body (create)', createPost, { input: { authorId: userId, title: 't', body: nul } });
  const updatePost = 'mutation($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { id } }';
  gql('NUL in title (update)', updatePost, { id: postId, input: { title: nul } });
  gql('NUL in body (update)', updatePost, { id: postId, input: { body: nul } });
  gql('NUL in reason (deletePost)', 'mutation($id: ID!, $r: String) { deletePost(id: $id, reason: $r) { id } }', { id: postId, r: nul });
  gql('NUL in reason (deleteUser)', 'mutation($id: ID!, $r: String) { deleteUser(id: $id, reason: $r) { id } }', { id: userId, r: nul });
  gql('NUL in an id', 'query($id: ID!) { user(id: $id) { id } }', { id: `019ac3f2-6a1e-7c3b-9a57-3f2c1d0e8b4${nul}` });
  gql('NUL in authorId', 'query($a: ID) { posts(authorId: $a) { totalCount } }', { a: nul });
  gql('NUL in a cursor', 'query($c: String) { users(after: $c) { totalCount } }', { c: nul });
  gql('NUL inline in title', `mutation { createPost(input: { authorId: "${userId}", title: "a\\u0000b", body: "b" }) { id } }`);
  gql('NUL inline in reason', `mutation { deletePost(id: "${postId}", reason: "\\u0000") { id } }`);

  // Cursors carrying dates PostgreSQL cannot store, and cursors that are not cursors.
  for (const [order, query] of [
    ['live', 'query($c: String) { users(after: $c) { nodes { id } } }'],
    ['trashed', 'query($c: String) { users(onlyDeleted: true, after: $c) { nodes { id } } }'],
    ['live', 'query($c: String) { posts(after: $c) { nodes { id } } }'],
    ['trashed', 'query($c: String) { trash(after: $c) { nodes { __typename } } }'],
  ] as const) {
    gql(`${order} cursor of year 0`, query, { c: cursor(order, '0000-01-01T00:00:00.000Z') });
    gql(`${order} cursor of year 275760`, query, { c: cursor(order, '+275760-09-13T00:00:00.000Z') });
    gql(`${order} cursor of a negative year`, query, { c: cursor(order, '-001000-01-01T00:00:00.000Z') });
  }
  gql('garbage cursor', 'query($c: String) { users(after: $c) { nodes { id } } }', { c: '!!!' });
  gql('cursor of another listing', 'query($c: String) { users(after: $c) { nodes { id } } }', { c: cursor('trashed', '2026-01-01T00:00:00.000Z') });

  // Operations the schema cannot run.
  gql('subscription', 'subscription { users { totalCount } }');
  gql('named subscription', 'subscription S { __typename }');
  requests.push({ name: 'mutation over GET', method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { emptyTrash }')}`, headers: { 'apollo-require-preflight': '1' } });

  // Automatic persisted queries.
  gql('APQ hash mismatch', '{ __typename }', undefined, { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
  gql('APQ unsupported version', '{ __typename }', undefined, { extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } });
  requests.push({ name: 'APQ unknown hash', body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'b'.repeat(64) } } } });
  gql('APQ extension not an object', '{ __typename }', undefined, { extensions: { persistedQuery: 'yes' } });

  // Documents and bodies that are not GraphQL.
  gql('syntax error', '{ users { ');
  gql('unknown field', '{ nope }');
  gql('query as a number', 123);
  gql('query as an object', { a: 1 });
  requests.push({ name: 'no query at all', body: {} });
  requests.push({ name: 'invalid JSON', raw: '{"query": ' });
  requests.push({ name: 'empty body', raw: '' });
  requests.push({ name: 'JSON null body', raw: 'null' });
  requests.push({ name: 'batched request', body: [{ query: '{ __typename }' }] });
  requests.push({ name: 'text/plain body (CSRF)', raw: '{"query":"{ __typename }"}', headers: { 'content-type': 'text/plain' } });
  requests.push({ name: 'content-type with a tab', raw: '{"query":"{ __typename }"}', headers: { 'content-type': 'application/json\tx' } });
  requests.push({ name: 'unknown path', path: '/nope' });
  requests.push({ name: 'unknown path, GET', path: '/admin', method: 'GET' });
  requests.push({ name: 'PUT on /graphql', method: 'PUT', body: { query: '{ __typename }' } });
  requests.push({ name: 'bad token', body: { query: '{ __typename }' }, headers: { authorization: 'Bearer nope' } });
  gql('introspection', '{ __schema { types { name } } }');
  gql('query too deep', '{ users { nodes { posts { nodes { author { posts { nodes { author { posts { nodes { id } } } } } } } } } } }');
  gql('query too costly', '{ users(first: 100) { nodes { posts(first: 100) { nodes { id } } } } }');
  gql('restorePreview of a missing id', '{ restorePreview(id: "nope") { restorable } }');
  gql('purge of a live user', `mutation { purgeUser(id: "${userId}") }`);
  return requests;
}

async function send(server: TestServer, request: MalformedRequest, authorization: string): Promise<{ status: number; body: any }> {
  const origin = new URL(server.url).origin;
  const method = request.method ?? 'POST';
  const response = await fetch(`${origin}${request.path ?? '/graphql'}`, {
    method,
    headers: { 'content-type': 'application/json', authorization, ...request.headers },
    body: method === 'GET' ? undefined : (request.raw ?? JSON.stringify(request.body)),
  });
  const text = await response.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

/** Sends a request with a header larger than Node's limit and returns the raw answer. */
function sendOversizedHeader(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`);
  });
}

for (const nodeEnv of ['production', 'development'] as const) {
  describe(`malformed requests in ${nodeEnv} mode`, () => {
    let server: TestServer;
    let fixtures: Fixtures;
    let authorization: string;
    beforeAll(async () => {
      server = await startTestServer({ config: { nodeEnv } });
      authorization = await adminAuthorization();
      const user = await createUser(server);
      const post = await server.gql(`mutation { createPost(input: { authorId: "${user.id}", title: "t", body: "b" }) { id } }`);
      fixtures = { userId: user.id, postId: post.data.createPost.id };
    });
    afterAll(() => server?.stop());

    it('answers each of at least 100 malformed requests without a 5xx or INTERNAL_SERVER_ERROR, with documented codes', async () => {
      const requests = malformedRequests(fixtures);
      expect(requests.length).toBeGreaterThanOrEqual(100);
      const failures: string[] = [];
      for (const request of requests) {
        const { status, body } = await send(server, request, authorization);
        const errors: any[] = typeof body === 'object' && body !== null && Array.isArray(body.errors) ? body.errors : [];
        const codes = errors.map((error) => error.extensions?.code);
        if (status >= 500) failures.push(`${request.name}: HTTP ${status}`);
        if (status >= 400 && errors.length === 0) failures.push(`${request.name}: HTTP ${status} without GraphQL errors: ${JSON.stringify(body).slice(0, 200)}`);
        for (const code of codes) {
          if (!DOCUMENTED_CODES.has(code)) failures.push(`${request.name}: code ${code}: ${JSON.stringify(errors).slice(0, 300)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('a variable that does not coerce gives BAD_USER_INPUT, as the same mistake inline does', async () => {
      const byVariable = await server.gql('query($n: Int!) { users(first: $n) { totalCount } }', { n: '20' });
      const inline = await server.gql('{ users(first: "20") { totalCount } }');
      expect(byVariable.status).toBe(400);
      expect(byVariable.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(byVariable.errors?.[0].message).toMatch(/\$n/);
      expect(inline.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });

    it('an unknown operationName is BAD_USER_INPUT naming it', async () => {
      const response = await send(server, { name: '', body: { query: 'query A { __typename }', operationName: 'B' } }, authorization);
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
      expect(response.body.errors[0].message).toMatch(/"B"/);
    });

    it('an unused variable nested 10,000 levels deep is ignored', async () => {
      const response = await send(server, { name: '', raw: `{"query":"{ __typename }","variables":{"deep":${deeplyNested(10_000)}}}` }, authorization);
      expect(response).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    });

    it.each([
      ['displayName', 'mutation($v: String) { createUser(input: { username: "nul_dn", email: "nul_dn@example.com", displayName: $v }) { id } }'],
      ['title', 'mutation($v: String!, $a: ID!) { createPost(input: { authorId: $a, title: $v, body: "b" }) { id } }'],
      ['body', 'mutation($v: String!, $a: ID!) { createPost(input: { authorId: $a, title: "t", body: $v }) { id } }'],
      ['reason', 'mutation($v: String, $a: ID!) { deleteUser(id: $a, reason: $v) { id } }'],
    ])('NUL in %s is BAD_USER_INPUT naming the field, and nothing is written', async (field, query) => {
      const before = await server.sql.query('select (select count(*) from users) + (select count(*) from posts) as n, (select max(version) from users) as v');
      const response = await server.gql(query, { v: 'before\u0000after', a: fixtures.userId });
      expect(response.errors).toHaveLength(1);
      expect(response.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(response.errors?.[0].message).toMatch(new RegExp(`${field}.*NUL`));
      const after = await server.sql.query('select (select count(*) from users) + (select count(*) from posts) as n, (select max(version) from users) as v');
      expect(after.rows).toEqual(before.rows);
    });

    it('a date PostgreSQL cannot store is BAD_USER_INPUT naming the argument, inline or as a variable', async () => {
      const inline = await server.gql('mutation { emptyTrash(olderThan: "0000-01-01T00:00:00Z") }');
      expect(inline.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'olderThan' });
      const byVariable = await server.gql('mutation($t: DateTimeISO) { emptyTrash(olderThan: $t) }', { t: '+275760-09-13T00:00:00.000Z' });
      expect(byVariable.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    });

    it('a cursor carrying an out-of-range date is BAD_USER_INPUT on after', async () => {
      const response = await server.gql('query($c: String) { users(after: $c) { nodes { id } } }', { c: cursor('live', '0000-01-01T00:00:00.000Z') });
      expect(response.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    });

    it('a subscription is BAD_USER_INPUT saying the schema has none', async () => {
      const response = await server.gql('subscription { users { totalCount } }');
      expect(response.status).toBeLessThan(500);
      expect(response.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
      expect(response.errors?.[0].message).toMatch(/subscription/i);
    });

    it('persisted-query mistakes carry real codes', async () => {
      const mismatch = await send(server, { name: '', body: { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } } }, authorization);
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'BAD_USER_INPUT' } }]);
      const version = await send(server, { name: '', body: { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'a' } } } }, authorization);
      expect(version.status).toBe(400);
      expect(version.body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
      const unknown = await send(server, { name: '', body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'c'.repeat(64) } } } }, authorization);
      expect(unknown.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    });

    it('an unknown path answers 404 in the GraphQL error shape', async () => {
      const response = await send(server, { name: '', path: '/nope', method: 'GET' }, authorization);
      expect(response.status).toBe(404);
      expect(response.body).toEqual({ errors: [{ message: expect.stringMatching(/not found/i), extensions: { code: 'NOT_FOUND' } }] });
    });

    it('headers larger than Node accepts answer 431 in the GraphQL error shape', async () => {
      const answer = await sendOversizedHeader(server.url);
      expect(answer).toMatch(/^HTTP\/1\.1 431 /);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      expect(body).toEqual({ errors: [{ message: 'Request headers are too large', extensions: { code: 'BAD_USER_INPUT' } }] });
    });
  });
}
