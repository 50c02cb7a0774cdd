import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { loadConfig } from '../src/config';
import { adminAuthorization } from './helpers/auth';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';

/** Every limit is checked at its documented default, just under and just over. */
const limits = loadConfig({}).limits;

let server: TestServer;
let adminHeader: string;
beforeAll(async () => {
  server = await startTestServer();
  adminHeader = await adminAuthorization();
});
afterAll(() => server?.stop());

function expectRejected(response: GraphQLResponse, code: string, message: RegExp) {
  expect(response.status).toBeLessThan(500);
  const error = onlyError(response);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  expect(response.data ?? null).toBeNull();
}

/** `{ users { nodes { posts { nodes { author { posts ... } } } } } }` nested to the given depth. */
function nestedQuery(depth: number): string {
  // users(1) > nodes(2) > posts(3) > nodes(4) > author(5) > posts(6) > nodes(7) > author(8) > ...
  const levels = ['users(first: 1)', 'nodes', 'posts(first: 1)', 'nodes', 'author', 'posts(first: 1)', 'nodes', 'author', 'posts(first: 1)', 'nodes'];
  // The innermost __typename is a level of its own.
  const path = levels.slice(0, depth - 1);
  return `{ ${path.map((field) => `${field} {`).join(' ')} __typename ${'}'.repeat(path.length)} }`;
}

describe('depth', () => {
  it(`accepts depth ${limits.depth}`, async () => {
    const response = await server.gql(nestedQuery(limits.depth));
    expect(response.errors).toBeUndefined();
  });

  it(`rejects depth ${limits.depth + 1} before execution`, async () => {
    expectRejected(await server.gql(nestedQuery(limits.depth + 1)), 'BAD_USER_INPUT', /depth/i);
  });
});

describe('aliases', () => {
  const aliased = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: users(first: 1) { totalCount }`).join(' ')} }`;

  it(`accepts ${limits.aliases} aliases`, async () => {
    expect((await server.gql(aliased(limits.aliases))).errors).toBeUndefined();
  });

  it(`rejects ${limits.aliases + 1} aliases`, async () => {
    expectRejected(await server.gql(aliased(limits.aliases + 1)), 'BAD_USER_INPUT', /alias/i);
  });
});

describe('directives', () => {
  const withDirectives = (count: number) => `{ users(first: 1) { ${'... @include(if: true) { totalCount } '.repeat(count)} } }`;

  it(`accepts ${limits.directives} directives`, async () => {
    expect((await server.gql(withDirectives(limits.directives))).errors).toBeUndefined();
  });

  it(`rejects ${limits.directives + 1} directives`, async () => {
    expectRejected(await server.gql(withDirectives(limits.directives + 1)), 'BAD_USER_INPUT', /directive/i);
  });
});

describe('tokens', () => {
  /**
   * A document of exactly `count` tokens: operations of 13 tokens each
   * (`query Qn { users(first: 1) { totalCount } }`), the last one padded with
   * `__typename` fields. Many small operations keep every other limit far away.
   */
  function documentOf(count: number): string {
    const operations: string[] = [];
    let remaining = count;
    while (remaining >= 26) {
      operations.push(`query Q${operations.length} { users(first: 1) { totalCount } }`);
      remaining -= 13;
    }
    operations.push(`query Q${operations.length} { users(first: 1) { totalCount ${'__typename '.repeat(remaining - 13)}} }`);
    return operations.join('\n');
  }

  it('builds documents of exactly the intended size', () => {
    expect(() => parse(documentOf(limits.tokens), { maxTokens: limits.tokens })).not.toThrow();
    expect(() => parse(documentOf(limits.tokens), { maxTokens: limits.tokens - 1 })).toThrow(/tokens/);
  });

  it(`accepts ${limits.tokens} tokens`, async () => {
    const response = await postGraphQLOperation(documentOf(limits.tokens), 'Q0');
    expect(response.errors).toBeUndefined();
    expect(response.data.users.totalCount).toBeTypeOf('number');
  });

  it(`rejects ${limits.tokens + 1} tokens while parsing`, async () => {
    expectRejected(await postGraphQLOperation(documentOf(limits.tokens + 1), 'Q0'), 'BAD_USER_INPUT', /tokens/i);
  });
});

async function postGraphQLOperation(query: string, operationName: string): Promise<GraphQLResponse> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: adminHeader },
    body: JSON.stringify({ query, operationName }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

describe('cost, with list sizes multiplied through nested connections', () => {
  it('rejects users(first: 100) { nodes { posts(first: 100) { ... } } } before execution', async () => {
    const response = await server.gql('{ users(first: 100) { nodes { id posts(first: 100) { nodes { id title } } } } }');
    expectRejected(response, 'QUERY_TOO_COMPLEX', /too complex/);
    expect(onlyError(response).extensions).toMatchObject({ limit: limits.cost });
    expect(onlyError(response).extensions.cost).toBeGreaterThan(limits.cost);
  });

  it('counts each field once per item its lists may return: just under and just over the limit', async () => {
    // users(first: 100) { nodes { posts(first: b) { nodes { id } } } } costs 1 + 100 * (2 + 2b).
    const costOf = (b: number) => 1 + 100 * (2 + 2 * b);
    const largestUnder = Math.floor((limits.cost - 201) / 200);
    const query = (b: number) => `{ users(first: 100) { nodes { posts(first: ${b}) { nodes { id } } } } }`;
    expect(costOf(largestUnder)).toBeLessThanOrEqual(limits.cost);
    expect(costOf(largestUnder + 1)).toBeGreaterThan(limits.cost);
    expect((await server.gql(query(largestUnder))).errors).toBeUndefined();
    const over = await server.gql(query(largestUnder + 1));
    expectRejected(over, 'QUERY_TOO_COMPLEX', /too complex/);
    expect(onlyError(over).extensions.cost).toBe(costOf(largestUnder + 1));
  });
});

describe('HTTP limits', () => {
  it('answers a body above the limit with HTTP 413 and a GraphQL-shaped error', async () => {
    const padding = 'x'.repeat(limits.bodyBytes);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ users { totalCount } }', variables: { padding } }),
    });
    expect(response.status).toBe(413);
    const body: any = await response.json();
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message).toMatch(/larger than/);
  });

  it('accepts a body just under the limit', async () => {
    const envelope = JSON.stringify({ query: '{ users { totalCount } }', variables: { padding: '' } });
    const padding = 'x'.repeat(limits.bodyBytes - envelope.length - 1);
    const response = await server.gql('{ users { totalCount } }', { padding });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
  });

  it('refuses batched requests', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ users { totalCount } }' }, { query: '{ users { totalCount } }' }]),
    });
    expect(response.status).toBe(400);
  });

  it('each request carries a request id: the client’s x-request-id when sane, else a generated one', async () => {
    const given = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-abc.123' },
      body: JSON.stringify({ query: '{ users { totalCount } }' }),
    });
    expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
    const hostile = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'a b\tc'.repeat(50) },
      body: JSON.stringify({ query: '{ users { totalCount } }' }),
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('statement timeout', () => {
  it('PostgreSQL cancels a statement of the serving connection pool that runs past STATEMENT_TIMEOUT_MS', async () => {
    const limited = await startTestServer({ config: { limits: { ...limits, statementTimeoutMs: 200 } } });
    try {
      const connection = limited.app.orm.em.fork().getConnection();
      const started = Date.now();
      await expect(connection.execute('select pg_sleep(3)')).rejects.toThrow(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(2500);
      const [{ setting }] = await connection.execute(`select current_setting('statement_timeout') as setting`);
      expect(setting).toBe('200ms');
    } finally {
      await limited.stop();
    }
  });
});
