import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { ADMIN_ID, adminAuthorization, memberAuthorization, TEST_JWT_SECRET } from './helpers/auth';
import { subscribe, type EventStream } from './helpers/subscriptions';
import { onlyError, postGraphQL, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

/**
 * Live trash events over WebSocket (graphql-ws), fanned out between
 * instances through PostgreSQL LISTEN/NOTIFY: two instances on one database,
 * members limited to their own records, a dropped LISTEN connection, limits.
 */
let a: TestServer;
let b: App;
let admin: string;
const streams: EventStream[] = [];

function track(stream: EventStream): EventStream {
  streams.push(stream);
  return stream;
}

beforeAll(async () => {
  a = await startTestServer({ config: { subscriptions: { perConnection: 2, perProcess: 1000 } } });
  // A second instance on the same database, as a second replica of the service would be.
  const config = { ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET }), port: 0, databaseUrl: a.databaseUrl };
  b = await createApp(config, { logger: pino({ level: 'silent' }) });
  admin = await adminAuthorization();
});
afterAll(async () => {
  await Promise.all(streams.map((stream) => stream.dispose()));
  await b?.stop();
  await a?.stop();
});

async function gqlOn(url: string, query: string, variables?: Record<string, unknown>, authorization = admin) {
  const response = await postGraphQL(url, query, variables, { authorization });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data;
}

async function createPost(authorId: string): Promise<string> {
  const data = await gqlOn(a.url, `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title: 'A post', body: 'text' },
  });
  return data.createPost.id;
}

const deletePostOn = (url: string, id: string, authorization = admin) =>
  gqlOn(url, `mutation($id: ID!) { deletePost(id: $id) { id } }`, { id }, authorization);
const restorePostOn = (url: string, id: string) => gqlOn(url, `mutation($id: ID!) { restorePost(id: $id) { id } }`, { id });

/**
 * Subscribing completes on the server after the client has sent its message;
 * a post of `ownerId` is deleted and restored until the stream hears of it, so
 * that what a test does next is certainly heard.
 */
/** Deletes (and restores) a probe post until the stream hears of it; returns the probe's id. */
async function untilSubscribed(stream: EventStream, ownerId: string): Promise<string> {
  const postId = await createPost(ownerId);
  for (let attempt = 0; attempt < 40; attempt += 1) {
    await deletePostOn(a.url, postId);
    const heard = await stream
      .waitFor((event) => event.items.some((item) => item.id === postId), 250)
      .then(() => true)
      .catch(() => false);
    if (heard) return postId;
    await restorePostOn(a.url, postId);
  }
  throw new Error('the subscription never started');
}

describe('trashEvents subscription', () => {
  it('a subscriber on one instance hears a deletion made on another within 1 s', async () => {
    const owner = await createUser(a);
    const stream = track(subscribe(a.url, admin));
    await untilSubscribed(stream, owner.id);

    const user = await createUser(a);
    const startedAt = Date.now();
    const deleted = await gqlOn(b.url, `mutation($id: ID!) { deleteUser(id: $id, reason: "left") { id deletionId } }`, { id: user.id });
    const event = await stream.waitFor((candidate) => candidate.items.some((item) => item.id === user.id), 1000);
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(event).toMatchObject({
      action: 'DELETE',
      deletionId: deleted.deleteUser.deletionId,
      items: [{ id: user.id, entityType: 'User' }],
      actorId: ADMIN_ID,
    });
    expect(Number.isNaN(Date.parse(event.at))).toBe(false);

    await gqlOn(b.url, `mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: user.id });
    await deleteUser(a, user.id);
    await gqlOn(b.url, `mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id });
    await stream.waitFor((candidate) => candidate.action === 'PURGE' && candidate.items.some((item) => item.id === user.id));
    const actions = stream.events.filter((candidate) => candidate.items.some((item) => item.id === user.id)).map((candidate) => candidate.action);
    expect(actions).toEqual(['DELETE', 'RESTORE', 'DELETE', 'PURGE']);
  });

  it('a member hears only of its own records, whoever changes them', async () => {
    const alice = await createUser(a);
    const bob = await createUser(a);
    const aliceStream = track(subscribe(b.url, await memberAuthorization(alice.id)));
    const adminStream = track(subscribe(b.url, admin));
    const aliceProbe = await untilSubscribed(aliceStream, alice.id);
    // The admin's probe is one of Bob's posts: Alice must not hear of it either.
    await untilSubscribed(adminStream, bob.id);

    const bobsPost = await createPost(bob.id);
    await deletePostOn(a.url, bobsPost, await memberAuthorization(bob.id));
    await deleteUser(a, bob.id);
    const alicesPost = await createPost(alice.id);
    await deletePostOn(a.url, alicesPost);

    // The admin hears all three; by the time Alice hears of her post, Bob's changes were long sent.
    await adminStream.waitFor((event) => event.items.some((item) => item.id === alicesPost));
    await adminStream.waitFor((event) => event.items.some((item) => item.id === bob.id));
    await adminStream.waitFor((event) => event.items.some((item) => item.id === bobsPost));
    await aliceStream.waitFor((event) => event.items.some((item) => item.id === alicesPost));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Retried probe deletions and restores of Alice's own probe may still trail in; everything else she hears must be her post.
    const heard = aliceStream.events.filter((event) => !event.items.some((item) => item.id === aliceProbe));
    expect(heard).toEqual([expect.objectContaining({ action: 'DELETE', items: [{ id: alicesPost, entityType: 'Post' }] })]);
  });

  it('anonymous and invalid tokens are refused with close code 4403', async () => {
    const anonymous = track(subscribe(a.url, null));
    expect((await anonymous.closed).code).toBe(4403);
    const forged = track(subscribe(a.url, 'Bearer not-a-token'));
    expect((await forged.closed).code).toBe(4403);
    expect(anonymous.events).toEqual([]);
  });

  it('a dropped LISTEN connection ends subscriptions with 1012 and is re-established', async () => {
    const owner = await createUser(a);
    const stream = track(subscribe(a.url, admin));
    await untilSubscribed(stream, owner.id);
    const before = await a.sql.query(
      `select pid from pg_stat_activity where application_name = 'trash-events' and datname = current_database()`,
    );
    expect(before.rows).toHaveLength(2); // one per instance
    await a.sql.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'trash-events' and datname = current_database()`);

    // Subscribers are told, not left believing nothing happened.
    expect((await stream.closed).code).toBe(1012);

    // Both instances listen again (new backends), and a new subscription hears events again.
    await expect
      .poll(
        async () =>
          (await a.sql.query(`select pid from pg_stat_activity where application_name = 'trash-events' and datname = current_database()`)).rows
            .map((row) => row.pid)
            .filter((pid) => !before.rows.some((old) => old.pid === pid)).length,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(2);
    const again = track(subscribe(a.url, admin));
    await untilSubscribed(again, owner.id);
    const user = await createUser(a);
    await gqlOn(b.url, `mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: user.id });
    await again.waitFor((event) => event.items.some((item) => item.id === user.id), 1000);
  });

  it('subscriptions per connection are bounded', async () => {
    const first = track(subscribe(a.url, admin));
    const owner = await createUser(a);
    await untilSubscribed(first, owner.id);
    // Two more on the same connection: the limit here is 2.
    const errors: unknown[] = [];
    for (let index = 0; index < 2; index += 1) {
      first.client.subscribe({ query: 'subscription { trashEvents { action } }' }, {
        next: () => {},
        error: (error) => errors.push(error),
        complete: () => {},
      });
    }
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(1);
    expect(errors[0]).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_SUBSCRIPTIONS' }) })]);
  });

  it('subscriptions per process are bounded, across connections', async () => {
    const server = await startTestServer({ config: { subscriptions: { perConnection: 10, perProcess: 1 } } });
    const first = subscribe(server.url, admin);
    const second = subscribe(server.url, admin);
    try {
      // Whichever arrives second is refused; the other one stays subscribed.
      await expect.poll(() => first.errors.length + second.errors.length, { timeout: 10_000 }).toBe(1);
      const [refused] = [...first.errors, ...second.errors];
      expect(refused).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_SUBSCRIPTIONS' }) })]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(first.errors.length + second.errors.length).toBe(1);
    } finally {
      await first.dispose();
      await second.dispose();
      await server.stop();
    }
  });

  it('subscription documents pass the same limits as queries, and only subscriptions are served over WebSocket', async () => {
    const aliases = Array.from({ length: 16 }, (_, index) => `a${index}: action`).join(' ');
    const tooManyAliases = track(subscribe(a.url, admin, `subscription { trashEvents { ${aliases} } }`));
    expect(await tooManyAliases.firstError()).toEqual([
      expect.objectContaining({ message: expect.stringContaining('Aliases limit'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    const tooManyTokens = track(subscribe(a.url, admin, `subscription { trashEvents { ${'action '.repeat(1000)} } }`));
    expect(await tooManyTokens.firstError()).toEqual([
      expect.objectContaining({ message: expect.stringContaining('tokens'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    const query = track(subscribe(a.url, admin, '{ users(first: 1) { totalCount } }'));
    expect(await query.firstError()).toEqual([
      expect.objectContaining({ message: expect.stringContaining('Only subscriptions'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    ]);
    const invalid = track(subscribe(a.url, admin, 'subscription { trashEvents { nope } }'));
    expect(await invalid.firstError()).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  });

  it('a subscription over HTTP is refused with BAD_USER_INPUT', async () => {
    const error = onlyError(await a.gql('subscription { trashEvents { action } }'));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('WebSocket');
  });

  it('stopping the server closes subscribers cleanly with 1001', async () => {
    const server = await startTestServer();
    const owner = await createUser(server);
    const stream = subscribe(server.url, admin);
    const post = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
      input: { authorId: owner.id, title: 't', body: 'b' },
    });
    const postId = post.data.createPost.id;
    for (let attempt = 0; attempt < 40 && stream.events.length === 0; attempt += 1) {
      await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: postId });
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (stream.events.length === 0) await server.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: postId });
    }
    expect(stream.events.length).toBeGreaterThan(0);
    await server.stop();
    expect(await stream.closed).toMatchObject({ code: 1001 });
    await stream.dispose();
  });
});
