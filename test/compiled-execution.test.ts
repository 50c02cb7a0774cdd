import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledExecution, parsedDocumentStore } from '../src/graphql/compiled-execution';
import { buildAppSchema } from '../src/schema';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const createUser = `mutation($input: CreateUserInput!) { createUser(input: $input) { id username } }`;

describe('compiled execution (graphql-jit behind Apollo Server)', () => {
  it('answers a repeated document with each request’s own variables', async () => {
    const ada = (await server.gql(createUser, { input: { username: 'jit-ada', email: 'jit-ada@example.com', displayName: 'Ada' } })).data.createUser;
    const bob = (await server.gql(createUser, { input: { username: 'jit-bob', email: 'jit-bob@example.com', displayName: 'Bob' } })).data.createUser;
    const byId = 'query ById($id: ID!) { user(id: $id) { id username } }';
    for (let i = 0; i < 3; i++) {
      expect((await server.gql(byId, { id: ada.id })).data).toEqual({ user: { id: ada.id, username: 'jit-ada' } });
      expect((await server.gql(byId, { id: bob.id })).data).toEqual({ user: { id: bob.id, username: 'jit-bob' } });
    }
  });

  it('refuses a variable of the wrong type as BAD_USER_INPUT with status 400, as graphql-js does', async () => {
    const byId = 'query ById($id: ID!) { user(id: $id) { id } }';
    for (const variables of [{ id: { nested: true } }, {}]) {
      const response = await server.gql(byId, variables);
      expect(response.status).toBe(400);
      expect(onlyError(response).code).toBe('BAD_USER_INPUT');
      expect(response.data).toBeUndefined();
    }
  });

  it('uses the default of a non-null variable the request leaves out', async () => {
    const response = await server.gql('query Page($first: Int! = 1, $includeDeleted: Boolean! = true) { users(first: $first, includeDeleted: $includeDeleted) { nodes { id } } }', {});
    expect(response.errors).toBeUndefined();
    expect(response.data.users.nodes).toHaveLength(1);
  });

  it('keeps a resolver’s error code and path, with the other fields still answered', async () => {
    const missing = '00000000-0000-7000-8000-000000000404';
    const response = await server.gql(`mutation { deleteUser(id: "${missing}") { id } }`);
    expect(response.status).toBe(200);
    expect(onlyError(response).code).toBe('NOT_FOUND');
    expect(response.errors?.[0].path).toEqual(['deleteUser']);
  });

  it('resolves abstract types in fragments (the trash listing)', async () => {
    const carol = (await server.gql(createUser, { input: { username: 'jit-carol', email: 'jit-carol@example.com', displayName: 'Carol' } })).data.createUser;
    await server.gql('mutation($id: ID!) { deleteUser(id: $id) { id } }', { id: carol.id });
    const response = await server.gql('{ trash(first: 10) { nodes { __typename ... on Trashable { id } ... on User { username } } } }');
    expect(response.errors).toBeUndefined();
    expect(response.data.trash.nodes).toContainEqual({ __typename: 'User', id: carol.id, username: 'jit-carol' });
  });

  it('runs the operation the request names when the document holds several', async () => {
    const document = 'query A { __typename } query B { users(first: 1) { nodes { id } } }';
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
      body: JSON.stringify({ query: document, operationName: 'A' }),
    });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    const unknown = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: document, operationName: 'C' }),
    });
    const body = (await unknown.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(unknown.status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('the compiled executor on its own', () => {
  it('reports variables that do not coerce with graphql-js’s errors, which name the variable (Apollo answers those 400 BAD_USER_INPUT)', async () => {
    const schema = await buildAppSchema();
    const { executor } = await compiledExecution(schema).load({ apollo: {} });
    const document = parse('query ById($id: ID!) { user(id: $id) { id } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    for (const variables of [{ id: { nested: true } }, {}]) {
      const result = await executor!({ document, operation, operationName: 'ById', request: { variables }, context: {} } as never);
      expect(result.data).toBeUndefined();
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0].message).toMatch(/^Variable "\$id"/);
      expect(result.errors![0].nodes?.[0].kind).toBe(Kind.VARIABLE_DEFINITION);
    }
  });
});

describe('the store of parsed documents', () => {
  it('keeps at most 500 documents, dropping the least recently used', async () => {
    const store = parsedDocumentStore();
    for (let i = 0; i < 600; i++) await store.set(`query-${i}`, parse(`{ q${i}: __typename }`));
    expect(store.keys()).toHaveLength(500);
    expect(await store.get('query-0')).toBeUndefined();
    expect(await store.get('query-599')).toBeDefined();
  });
});
