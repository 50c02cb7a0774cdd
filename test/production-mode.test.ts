import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization } from './helpers/auth';
import { createUser } from './helpers/users';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';

/** The production server's log lines, parsed. */
const logLines: Array<Record<string, any>> = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
    done();
  },
});

let production: TestServer;
beforeAll(async () => {
  production = await startTestServer({
    config: { nodeEnv: 'production', corsOrigins: ['https://app.example.com'] },
    logger: pino({ level: 'info' }, logSink),
  });
});
afterAll(() => production?.stop());

describe('production mode tells attackers nothing', () => {
  it('refuses introspection', async () => {
    const response = await production.gql('{ __schema { types { name } } }');
    expect(response.data ?? null).toBeNull();
    expect(onlyError(response).code).toBe('BAD_USER_INPUT');
    expect(onlyError(response).message).toMatch(/introspection/i);
  });

  it('serves no landing page', async () => {
    const response = await fetch(production.url, { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type')).not.toMatch(/html/);
    expect(await response.text()).not.toMatch(/<html|sandbox/i);
  });

  it('hides field suggestions', async () => {
    const error = onlyError(await production.gql('{ usres { totalCount } }'));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).not.toMatch(/Did you mean|"users"/);
  });

  it('masks unexpected errors as INTERNAL_SERVER_ERROR with a request id that is also in the log line, and no stack trace', async () => {
    const user = await createUser(production);
    await production.sql.query('alter table users rename column deleted_at to deleted_at_hidden');
    try {
      const response = await fetch(production.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'prod-check-1', authorization: await adminAuthorization() },
        body: JSON.stringify({ query: 'query($id: ID!) { user(id: $id) { id } }', variables: { id: user.id } }),
      });
      const body: any = await response.json();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]).toEqual({
        message: 'Internal server error',
        locations: expect.any(Array),
        path: ['user'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'prod-check-1' },
      });
      expect(JSON.stringify(body)).not.toMatch(/deleted_at|stacktrace|at .*\.ts/);
      const logged = logLines.find((line) => line.requestId === 'prod-check-1');
      expect(logged).toMatchObject({ level: 50, msg: 'unexpected error while resolving a request' });
      expect(logged!.err.message).toMatch(/deleted_at/);
    } finally {
      await production.sql.query('alter table users rename column deleted_at_hidden to deleted_at');
    }
  });

  it('client errors carry no stack trace either', async () => {
    const response = await production.gql('mutation { deleteUser(id: "nope") { id } }');
    expect(onlyError(response).extensions).toEqual({ code: 'NOT_FOUND', entityType: 'User', id: 'nope' });
  });

  it("allows only CORS_ORIGINS, not Apollo's development origins", async () => {
    const preflight = (origin: string) =>
      fetch(production.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight('https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await preflight('https://studio.apollographql.com')).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('ALLOW_INTROSPECTION=true', () => {
  it('turns introspection back on in production', async () => {
    const open = await startTestServer({ config: { nodeEnv: 'production', allowIntrospection: true } });
    try {
      const response = await open.gql('{ __schema { queryType { name } } }');
      expect(response.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await open.stop();
    }
  });
});
