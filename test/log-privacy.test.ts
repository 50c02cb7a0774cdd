import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from './helpers/users';
import { startTestServer, type TestServer } from './helpers/test-server';

/**
 * Writes fail inside PostgreSQL (a CHECK constraint added for the test, whose
 * error carries the failing row in its detail), and the whole log, SQL trace
 * included, is searched for the values the client sent.
 */
const CANARY = 'zq7canary';

let server: TestServer;
const logLines: string[] = [];
beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  server = await startTestServer({ logger: pino({ level: 'trace' }, stream) });
  await server.sql.query(`alter table users add constraint users_no_canary check (position('${CANARY}' in email) = 0 and position('${CANARY}' in coalesce(display_name, '')) = 0)`);
  await server.sql.query(`alter table posts add constraint posts_no_canary check (position('${CANARY}' in title) = 0)`);
  await server.sql.query(`alter table audit_events add constraint audit_no_canary check (position('${CANARY}' in coalesce(reason, '')) = 0)`);
});
afterAll(() => server?.stop());

function logged(): Array<Record<string, any>> {
  return logLines.map((line) => JSON.parse(line));
}

describe('failed writes leave no personal data in the log', () => {
  const writes: Array<[string, (author: string) => [string, Record<string, unknown>], string, string]> = [
    [
      'an INSERT of a user',
      () => [`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { username: 'leaky', email: `ada.${CANARY}@example.com` } }],
      'users_no_canary',
      'users',
    ],
    [
      'an UPDATE of a user',
      (author) => [`mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`, { id: author, input: { displayName: `Ada ${CANARY}` } }],
      'users_no_canary',
      'users',
    ],
    [
      'an INSERT of a post',
      (author) => [`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, { input: { authorId: author, title: `Diary ${CANARY}`, body: 'text' } }],
      'posts_no_canary',
      'posts',
    ],
    [
      'the audit event of a delete, with its reason',
      (author) => [`mutation($id: ID!, $reason: String) { deleteUser(id: $id, reason: $reason) { id } }`, { id: author, reason: `asked by ${CANARY}` }],
      'audit_no_canary',
      'audit_events',
    ],
  ];

  it.each(writes)('%s: the error is logged by code, constraint, table and statement fingerprint only', async (_kind, request, constraint, table) => {
    const author = await createUser(server);
    logLines.length = 0;
    const [query, variables] = request(author.id);
    const response = await server.gql(query, variables, { 'x-request-id': `privacy-${table}` });
    expect(response.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');

    const errorLine = logged().find((line) => line.requestId === `privacy-${table}` && line.err);
    expect(errorLine?.err).toMatchObject({ code: '23514', constraint, table, statement: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(errorLine?.err.stack).toMatch(/^\s+at /);
    // PostgreSQL's message and detail of an integrity violation quote the row: neither is logged.
    expect(errorLine?.err.message).toBeUndefined();
    // The SQL trace ran too (the level is trace), so this covers statements as well as errors.
    expect(logged().some((line) => line.msg === 'sql')).toBe(true);
    expect(logLines.join('')).not.toContain(CANARY);
  });
});
