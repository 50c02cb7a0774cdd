import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPurgeCommand } from '../src/cli/purge';
import { trashPolicies } from '../src/modules/trash-policies';
import { RetentionJob } from '../src/trash/retention.job';
import pino from 'pino';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

const DAY = 86_400_000;
let now = new Date('2026-03-01T12:00:00.000Z');
const clock = () => new Date(now.getTime());

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock, config: { trash: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 2, emptyTrashMaxRecords: 100_000, emptyTrashMaxMs: 60_000 } } });
});
afterAll(() => server?.stop());

async function createPost(authorId: string, title = 'a post') {
  const response = await server.gql(`mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`, {
    input: { authorId, title, body: 'text' },
  });
  if (!response.data?.createPost) throw new Error(JSON.stringify(response.errors));
  return response.data.createPost.id as string;
}

async function rowCount(table: 'users' | 'posts', ids: string[]): Promise<number> {
  const { rows } = await server.sql.query(`select count(*)::int as n from ${table} where id = any($1::uuid[])`, [ids]);
  return rows[0].n;
}

const purgeUser = (id: string) => server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id });
const purgePost = (id: string) => server.gql(`mutation($id: ID!) { purgePost(id: $id) }`, { id });

describe('purging by hand', () => {
  it('purgeUser removes a trashed user with all of its posts and returns the rows removed', async () => {
    const user = await createUser(server);
    const alone = await createPost(user.id, 'trashed alone');
    const withUser = [await createPost(user.id), await createPost(user.id)];
    await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: alone });
    await deleteUser(server, user.id);

    const response = await purgeUser(user.id);
    expect(response.data.purgeUser).toBe(4);
    expect(await rowCount('users', [user.id])).toBe(0);
    expect(await rowCount('posts', [alone, ...withUser])).toBe(0);
  });

  it('a purged record is gone from every query and from the trash', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    await deleteUser(server, user.id);
    await purgeUser(user.id);
    const response = await server.gql(
      `query($id: ID!, $post: ID!) {
        user(id: $id, includeDeleted: true) { id }
        post(id: $post, includeDeleted: true) { id }
        users(onlyDeleted: true, first: 100) { nodes { id } }
        posts(includeDeleted: true, first: 100) { nodes { id } }
        trash(first: 100) { nodes { ... on User { id } ... on Post { id } } }
      }`,
      { id: user.id, post },
    );
    expect(response.data.user).toBeNull();
    expect(response.data.post).toBeNull();
    const listed = [...response.data.users.nodes, ...response.data.posts.nodes, ...response.data.trash.nodes].map((node: { id: string }) => node.id);
    expect(listed).not.toContain(user.id);
    expect(listed).not.toContain(post);
    expect(onlyError(await server.gql(`query($id: ID!) { restorePreview(id: $id) { restorable } }`, { id: user.id })).code).toBe('NOT_FOUND');
  });

  it('refuses to purge live records with PRECONDITION_FAILED and removes nothing', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    expect(onlyError(await purgeUser(user.id)).code).toBe('PRECONDITION_FAILED');
    expect(onlyError(await purgePost(post)).code).toBe('PRECONDITION_FAILED');
    expect(await rowCount('users', [user.id])).toBe(1);
    expect(await rowCount('posts', [post])).toBe(1);
  });

  it('purgePost removes one trashed post and leaves its author', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    await server.gql(`mutation($id: ID!) { deletePost(id: $id) { id } }`, { id: post });
    expect((await purgePost(post)).data.purgePost).toBe(1);
    expect(await rowCount('posts', [post])).toBe(0);
    expect(await rowCount('users', [user.id])).toBe(1);
  });

  it('answers NOT_FOUND for unknown and malformed ids', async () => {
    for (const id of ['01a22707-0000-7000-8000-000000000000', 'nope']) {
      expect(onlyError(await purgeUser(id)).code).toBe('NOT_FOUND');
      expect(onlyError(await purgePost(id)).code).toBe('NOT_FOUND');
    }
  });

  it('emptyTrash(olderThan) purges only what was trashed before that instant', async () => {
    const older = await createUser(server);
    const olderPost = await createPost(older.id);
    await deleteUser(server, older.id);
    now = new Date(now.getTime() + 60_000);
    const cutoff = clock();
    now = new Date(now.getTime() + 60_000);
    const newer = await createUser(server);
    await deleteUser(server, newer.id);
    const live = await createUser(server);

    const response = await server.gql(`mutation($t: DateTimeISO) { emptyTrash(olderThan: $t) }`, { t: cutoff.toISOString() });
    expect(response.data.emptyTrash).toBeGreaterThanOrEqual(2);
    expect(await rowCount('users', [older.id])).toBe(0);
    expect(await rowCount('posts', [olderPost])).toBe(0);
    expect(await rowCount('users', [newer.id, live.id])).toBe(2);
  });

  it('emptyTrash without olderThan empties the whole trash and nothing live', async () => {
    const trashed = await createUser(server);
    await deleteUser(server, trashed.id);
    const live = await createUser(server);
    const livePost = await createPost(live.id);
    now = new Date(now.getTime() + 1000);
    await server.gql('mutation { emptyTrash }');
    const remaining = await server.sql.query('select count(*)::int as n from users where deleted_at is not null');
    expect(remaining.rows[0].n).toBe(0);
    expect(await rowCount('users', [live.id])).toBe(1);
    expect(await rowCount('posts', [livePost])).toBe(1);
  });
});

describe('retention', () => {
  it('schedules purgeAt retention days after deletedAt', async () => {
    const user = await createUser(server);
    const trashed = await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { deletedAt purgeAt } }`, { id: user.id });
    const { deletedAt, purgeAt } = trashed.data.deleteUser;
    expect(new Date(purgeAt).getTime() - new Date(deletedAt).getTime()).toBe(30 * DAY);
  });

  it('the job purges records whose purgeAt has passed, not before, in bounded batches', async () => {
    now = new Date(now.getTime() + 1);
    await server.gql('mutation { emptyTrash }');
    const users = [];
    for (let i = 0; i < 5; i += 1) {
      const user = await createUser(server);
      await createPost(user.id);
      await deleteUser(server, user.id);
      users.push(user.id);
    }
    now = new Date(now.getTime() + 29 * DAY);
    expect(await server.app.retention.runOnce()).toMatchObject({ removed: 0 });
    expect(await rowCount('users', users)).toBe(5);

    now = new Date(now.getTime() + 2 * DAY);
    const result = await server.app.retention.runOnce();
    // Batches of 2 users: three transactions for five users.
    expect(result).toMatchObject({ removed: 10, skipped: false });
    expect(result.batches).toBeGreaterThanOrEqual(3);
    expect(await rowCount('users', users)).toBe(0);
  });

  it('two purge jobs on one database never remove anything twice', async () => {
    const users: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const user = await createUser(server);
      await deleteUser(server, user.id);
      users.push(user.id);
    }
    now = new Date(now.getTime() + 31 * DAY);
    const jobs = [0, 1].map(
      () =>
        new RetentionJob({
          orm: server.app.orm,
          clock,
          settings: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 2, emptyTrashMaxRecords: 100_000, emptyTrashMaxMs: 60_000 },
          policies: trashPolicies,
          logger: pino({ level: 'silent' }),
        }),
    );
    const results = await Promise.all(jobs.map((job) => job.runOnce()));
    expect(results.reduce((sum, result) => sum + result.removed, 0)).toBe(7);
    const events = await server.sql.query(
      `select entity_id, count(*)::int as n from audit_events where action = 'PURGE' and entity_id = any($1::uuid[]) group by entity_id`,
      [users],
    );
    expect(events.rows).toHaveLength(7);
    expect(events.rows.every((row) => row.n === 1)).toBe(true);
  });
});

describe('npm run purge', () => {
  it('with TRASH_RETENTION_DAYS changed, keeps existing schedules until asked to --reschedule', async () => {
    const realNow = Date.now();
    now = new Date(realNow - 10 * DAY);
    const user = await createUser(server);
    await deleteUser(server, user.id);
    now = new Date(realNow);
    const env = { DATABASE_URL: server.databaseUrl, LOG_LEVEL: 'silent', TRASH_RETENTION_DAYS: '1' };

    // Scheduled 30 days after deletion: still 20 days to go, whatever the new setting says.
    expect(await runPurgeCommand([], env)).toMatchObject({ removed: 0 });
    expect(await rowCount('users', [user.id])).toBe(1);

    const rescheduled = await runPurgeCommand(['--reschedule'], env);
    expect(rescheduled.rescheduled).toBeGreaterThanOrEqual(1);
    const { rows } = await server.sql.query('select purge_at - deleted_at as kept from users where id = $1', [user.id]);
    expect(rows[0].kept).toMatchObject({ days: 1 });

    expect((await runPurgeCommand([], env)).removed).toBeGreaterThanOrEqual(1);
    expect(await rowCount('users', [user.id])).toBe(0);
  });

  it('rejects unknown arguments', async () => {
    await expect(runPurgeCommand(['--everything'], { DATABASE_URL: server.databaseUrl })).rejects.toThrow(/Unknown argument --everything/);
  });
});

describe('TRASH_RETENTION_DAYS=0', () => {
  it('schedules no automatic purge: purgeAt stays null and the job leaves the record', async () => {
    const keeper = await startTestServer({ clock, config: { trash: { retentionDays: 0, purgeIntervalSeconds: 3600, purgeBatchSize: 100, emptyTrashMaxRecords: 100_000, emptyTrashMaxMs: 60_000 } } });
    try {
      const user = await createUser(keeper);
      const trashed = await keeper.gql(`mutation($id: ID!) { deleteUser(id: $id) { purgeAt isDeleted } }`, { id: user.id });
      expect(trashed.data.deleteUser).toEqual({ purgeAt: null, isDeleted: true });
      now = new Date(now.getTime() + 3650 * DAY);
      expect(await keeper.app.retention.runOnce()).toMatchObject({ removed: 0 });
      const { rows } = await keeper.sql.query('select count(*)::int as n from users where id = $1', [user.id]);
      expect(rows[0].n).toBe(1);
    } finally {
      await keeper.stop();
    }
  });
});
