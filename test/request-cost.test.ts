import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { adminAuthorization } from './helpers/auth';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

const limits = loadConfig({}).limits;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

async function createPosts(target: TestServer, authorId: string, count: number, body: string): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const response = await target.gql('mutation($input: CreatePostInput!) { createPost(input: $input) { id } }', {
      input: { authorId, title: `post ${i}`, body },
    });
    expect(response.errors).toBeUndefined();
  }
}

describe('restorePreview lists are costed per item they may return', () => {
  let trashedId: string;
  beforeAll(async () => {
    const user = await createUser(server);
    await createPosts(server, user.id, 5, 'b'.repeat(1000));
    trashedId = (await deleteUser(server, user.id)).id;
  });

  it('refuses the amplifying query (items { author { posts(first: 100) { body } } }) before it runs', async () => {
    const response = await server.gql(
      'query($id: ID!) { restorePreview(id: $id) { items { ... on Post { author { posts(first: 100, includeDeleted: true) { nodes { body } } } } } } }',
      { id: trashedId },
    );
    expect(response.status).toBe(400);
    expect(onlyError(response).code).toBe('QUERY_TOO_COMPLEX');
    expect(onlyError(response).extensions.cost).toBeGreaterThan(limits.cost);
  });

  it('pages its lists: items(first: 2) lists two of the six records, itemCount says six', async () => {
    const response = await server.gql('query($id: ID!) { restorePreview(id: $id) { itemCount items(first: 2) { __typename } conflicts(first: 1) { field } blockedBy(first: 1) { __typename } } }', {
      id: trashedId,
    });
    expect(response.errors).toBeUndefined();
    expect(response.data.restorePreview.itemCount).toBe(6);
    expect(response.data.restorePreview.items).toHaveLength(2);
  });

  it('refuses first outside 1 to 100 on the preview lists', async () => {
    const response = await server.gql('query($id: ID!) { restorePreview(id: $id) { items(first: 101) { __typename } } }', { id: trashedId });
    expect(onlyError(response)).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'first' } });
  });
});

describe('totalCount has a cost of its own', () => {
  it(`each totalCount adds QUERY_TOTAL_COUNT_COST (${limits.totalCountCost}) once, however large the lists around it`, async () => {
    const limited = await startTestServer({ config: { limits: { ...limits, cost: 250 } } });
    try {
      // users(first: 1) { totalCount } costs 1 + 1 × 1 for the fields, plus the count.
      const two = await limited.gql('{ a: users(first: 1) { totalCount } b: users(first: 1) { totalCount } }');
      expect(two.errors).toBeUndefined();
      const three = await limited.gql('{ a: users(first: 1) { totalCount } b: users(first: 1) { totalCount } c: users(first: 1) { totalCount } }');
      expect(onlyError(three)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', extensions: { cost: 3 * (2 + limits.totalCountCost), limit: 250 } });
      // Counts inside fragments count too.
      const spread = await limited.gql('{ a: users(first: 1) { ...c } b: users(first: 1) { ...c } c: users(first: 1) { ...c } } fragment c on UserConnection { totalCount }');
      expect(onlyError(spread).code).toBe('QUERY_TOO_COMPLEX');
      // A nested count runs as one grouped statement for all parents, so it is not multiplied by them.
      const nested = await limited.gql('{ users(first: 10) { nodes { posts(first: 1) { totalCount } } } }');
      expect(nested.errors).toBeUndefined();
    } finally {
      await limited.stop();
    }
  });
});

describe('RESPONSE_MAX_BYTES', () => {
  it('fails an answer that would grow past the limit with one RESPONSE_TOO_LARGE error, and serves smaller ones', async () => {
    const limited = await startTestServer({ config: { limits: { ...limits, responseBytes: 20_000 } } });
    try {
      const user = await createUser(limited);
      await createPosts(limited, user.id, 10, 'x'.repeat(5000));
      const small = await limited.gql('{ posts(first: 3) { nodes { body } } }');
      expect(small.errors).toBeUndefined();
      expect(small.data.posts.nodes).toHaveLength(3);
      const response = await fetch(limited.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: await adminAuthorization() },
        body: JSON.stringify({ query: '{ posts(first: 10) { nodes { title body } } }' }),
      });
      const text = await response.text();
      expect(response.status).toBeLessThan(500);
      expect(text.length).toBeLessThan(1000);
      expect(JSON.parse(text)).toEqual({
        errors: [{ message: expect.stringMatching(/larger than 20000 bytes/), extensions: { code: 'RESPONSE_TOO_LARGE', limit: 20_000 } }],
      });
    } finally {
      await limited.stop();
    }
  });
});

describe('RESPONSE_MAX_BYTES counts long text only', () => {
  it('ids and short columns (uuid, varchar of at most 255) are bounded by the cost limit and not counted; a 500-character reason is', async () => {
    const limited = await startTestServer({ config: { limits: { ...limits, responseBytes: 1_000 } } });
    try {
      const users = [];
      for (let i = 0; i < 6; i += 1) users.push(await createUser(limited, { displayName: 'd'.repeat(100) }));
      // 6 x (uuid + username + email + 100-character display name) is well over 1,000 bytes of text, all of it short.
      const short = await limited.gql('{ users(first: 6) { nodes { id username email displayName } } }');
      expect(short.errors).toBeUndefined();
      expect(JSON.stringify(short.data).length).toBeGreaterThan(1_000);
      for (const user of users) await deleteUser(limited, user.id, 'r'.repeat(500));
      const long = await limited.gql('{ users(first: 6, onlyDeleted: true) { nodes { id deleteReason } } }');
      expect(onlyError(long)).toMatchObject({ code: 'RESPONSE_TOO_LARGE', extensions: { limit: 1_000 } });
    } finally {
      await limited.stop();
    }
  });
});

describe('memory', () => {
  /** Node's garbage collector, reachable once --expose-gc is set at run time. */
  function collectGarbage(): () => void {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  }

  it('thousands of distinct documents with a 45 KB junk variable leave the heap bounded', { timeout: 300_000 }, async () => {
    const gc = collectGarbage();
    const authorization = await adminAuthorization();
    const junk = 'j'.repeat(45_000);
    let sequence = 0;
    const sendBatch = async (count: number) => {
      const workers = Array.from({ length: 8 }, async () => {
        while (count > 0) {
          count -= 1;
          sequence += 1;
          const response = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization },
            body: JSON.stringify({ query: `{ a${sequence}: __typename }`, variables: { junk } }),
          });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }
      });
      await Promise.all(workers);
    };
    await sendBatch(200);
    gc();
    const before = process.memoryUsage().heapUsed;
    await sendBatch(2000);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // Keys of the cost cache once held each junk variable: 2,000 × 45 KB = 90 MB.
    expect(grown).toBeLessThan(30 * 1024 * 1024);
  });
});
