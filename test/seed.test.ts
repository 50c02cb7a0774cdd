import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSeedCommand, SeedRefusedError, type SeedResult } from '../src/cli/seed';
import { ConfigError } from '../src/config';
import { createTestDatabase, type TestDatabase } from './helpers/database';

let database: TestDatabase;
let sql: pg.Pool;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  database = await createTestDatabase();
  sql = new pg.Pool({ connectionString: database.url, max: 2 });
  env = { DATABASE_URL: database.url, LOG_LEVEL: 'silent' };
});
afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

async function count(query: string, params: unknown[] = []): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(`select count(*)::int as n from ${query}`, params);
  return rows[0].n;
}

async function snapshot() {
  return {
    users: await count('users'),
    posts: await count('posts'),
    auditEvents: await count('audit_events'),
    trashedUsers: await count('users where deleted_at is not null'),
    trashedPosts: await count('posts where deleted_at is not null'),
  };
}

describe('npm run seed', () => {
  let first: SeedResult;

  it('fills an empty database with users and posts, some trashed and some restored, through the services', async () => {
    first = await runSeedCommand([], env);
    expect(first).toEqual({
      created: { users: 36, posts: 54 },
      updated: { users: 3, posts: 3 },
      trashed: { users: 5, postsAlone: 6, postsWithTheirAuthor: 8 },
      restored: { users: 1, posts: 2 },
      // 90 creates, 6 updates, 14 deletes (6 posts alone, 5 users, then 1 user and 2 posts that were restored), 3 restores.
      database: { users: 36, trashedUsers: 5, posts: 54, trashedPosts: 14, auditEvents: 113 },
    });
    expect(await snapshot()).toEqual({ users: 36, posts: 54, auditEvents: 113, trashedUsers: 5, trashedPosts: 14 });
  }, 120_000);

  it('writes what the API would have: valid users, deletion ids shared with the author, purge dates, an audit trail by the system', async () => {
    const { rows: users } = await sql.query<{ username: string; email: string }>('select username, email from users');
    for (const user of users) {
      expect(user.username).toMatch(/^[A-Za-z0-9_.-]{3,32}$/);
      expect(user.email).toBe(`${user.username}@example.com`);
    }
    // Posts that went with their author carry the author's deletion id; those trashed alone have their own.
    expect(await count('posts p join users u on u.id = p.author_id where p.deletion_id = u.deletion_id')).toBe(8);
    expect(await count('posts p join users u on u.id = p.author_id where p.deleted_at is not null and p.deletion_id is distinct from u.deletion_id')).toBe(6);
    // One author had a post trashed by moderation before being trashed itself: two deletions in the trash.
    expect(await count('posts p join users u on u.id = p.author_id where u.deleted_at is not null and p.deletion_id <> u.deletion_id')).toBe(1);
    expect(await count('users where deleted_at is not null and (purge_at is null or delete_reason is null or deletion_id is null)')).toBe(0);
    expect(await count("audit_events where action = 'DELETE' and reason is null")).toBe(0);
    expect(await count('audit_events where actor_id is not null')).toBe(0);

    const { rows: actions } = await sql.query<{ action: string; n: number }>(
      'select action, count(*)::int as n from audit_events group by action order by action',
    );
    expect(actions).toEqual([
      { action: 'CREATE', n: 90 },
      { action: 'DELETE', n: 14 },
      { action: 'RESTORE', n: 3 },
      { action: 'UPDATE', n: 6 },
    ]);
    // The restored user is live again with all three of its posts, after create, delete and restore.
    const { rows: restored } = await sql.query(
      `select u.version, count(p.id)::int as live_posts from users u join posts p on p.author_id = u.id and p.deleted_at is null
        where u.username = 'radia.perlman' group by u.version`,
    );
    expect(restored).toEqual([{ version: 3, live_posts: 3 }]);
  });

  it('refuses a database that already has users, and changes nothing', async () => {
    const before = await snapshot();
    await expect(runSeedCommand([], env)).rejects.toThrow(SeedRefusedError);
    await expect(runSeedCommand([], env)).rejects.toThrow(
      'Refusing to seed: the database already has 36 user(s). Run `npm run seed -- --force` to add the demo data anyway.',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('adds another set with --force, with usernames that do not clash', async () => {
    const second = await runSeedCommand(['--force'], env);
    expect(second.created).toEqual(first.created);
    expect(second.database).toEqual({ users: 72, trashedUsers: 10, posts: 108, trashedPosts: 28, auditEvents: 226 });
    expect(await count("users where username = 'ada.lovelace.36'")).toBe(1);
    expect(await snapshot()).toEqual({ users: 72, posts: 108, auditEvents: 226, trashedUsers: 10, trashedPosts: 28 });
  }, 120_000);

  it('skips a suffix that some username already uses', async () => {
    await sql.query("update users set username = 'Ada.Lovelace.72', email = 'someone@example.org' where username = 'alan.turing.36'");
    const third = await runSeedCommand(['--force'], env);
    expect(third.database.users).toBe(108);
    expect(await count("users where username like '%.73'")).toBe(36);
    expect(await count("users where username like '%.72'")).toBe(1);
  }, 120_000);

  it('refuses unknown arguments before touching the database', async () => {
    await expect(runSeedCommand(['--forse'], env)).rejects.toThrow(ConfigError);
    await expect(runSeedCommand(['--forse'], env)).rejects.toThrow('Unknown argument --forse; usage: npm run seed [-- --force]');
  });
});
