/**
 * The floor: the least a Node process can do to answer the benchmark's
 * GraphQL requests. A bare `http` server and `pg`, no GraphQL: it routes on
 * the URL path (one path per request kind, see scenarios.ts), reads the JSON
 * body for its variables, runs hand-written SQL on the same indexes and
 * answers the same JSON as the server, serialised with JSON.stringify. It
 * keeps the server's semantics (keyset order, live/trashed visibility, row
 * lock, unique-clash check, cascade by deletion id, audit event), but not its
 * cross-cutting work (token verification, validation, limits, logging).
 * Usage: DATABASE_URL=... PORT=... node bench/dist/floor.js; prints "ready <port>".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { FLOOR_PATHS, NESTED_PAGE, NESTED_POSTS, PAGE, RETENTION_DAYS } from './scenarios';

// uuid and bigint columns as the server returns them: strings and numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.FLOOR_POOL_SIZE ?? 10) });

interface Body {
  query?: string;
  variables?: Record<string, unknown>;
}

type Handler = (variables: Record<string, unknown>, count: () => void) => Promise<unknown>;

const iso = (value: Date | null): string | null => (value ? value.toISOString() : null);

async function query<R extends pg.QueryResultRow>(count: () => void, text: string, values: unknown[] = [], client: pg.Pool | pg.PoolClient = pool): Promise<R[]> {
  count();
  return (await client.query<R>(text, values)).rows;
}

interface UserRow {
  id: string;
  username: string;
  email: string;
  created_at: Date;
}

const userNode = (row: UserRow) => ({ id: row.id, username: row.username, email: row.email, createdAt: iso(row.created_at) });

const LIVE_PAGE = `select id, username, email, created_at from users where deleted_at is null order by created_at desc, id desc limit ${PAGE}`;

function decodeCursor(raw: unknown): { at: string; id: string } {
  const [, at, id] = JSON.parse(Buffer.from(String(raw), 'base64url').toString('utf8')) as [string, string, string];
  return { at, id };
}

async function inTransaction<R>(work: (client: pg.PoolClient) => Promise<R>, count: () => void): Promise<R> {
  const client = await pool.connect();
  try {
    count();
    await client.query('begin');
    const result = await work(client);
    count();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

class GraphQLFailure extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const handlers: Record<string, Handler> = {
  [FLOOR_PATHS.typename]: async () => ({ __typename: 'Query' }),

  [FLOOR_PATHS.usersPage]: async (_variables, count) => {
    const rows = await query<UserRow>(count, LIVE_PAGE);
    return { users: { nodes: rows.map(userNode) } };
  },

  [FLOOR_PATHS.usersPageTotal]: async (_variables, count) => {
    const [rows, [total]] = await Promise.all([
      query<UserRow>(count, LIVE_PAGE),
      query<{ n: number }>(count, 'select count(*) as n from users where deleted_at is null'),
    ]);
    return { users: { totalCount: total.n, nodes: rows.map(userNode) } };
  },

  [FLOOR_PATHS.usersDeep]: async (variables, count) => {
    const cursor = decodeCursor(variables.after);
    const rows = await query<UserRow>(
      count,
      `select id, username, email, created_at from users
        where deleted_at is null and (created_at, id) < ($1, $2)
        order by created_at desc, id desc limit ${PAGE}`,
      [cursor.at, cursor.id],
    );
    return { users: { nodes: rows.map(userNode) } };
  },

  [FLOOR_PATHS.usersWithPosts]: async (_variables, count) => {
    const users = await query<{ id: string }>(
      count,
      `select id from users where deleted_at is null order by created_at desc, id desc limit ${NESTED_PAGE}`,
    );
    const ids = users.map((user) => user.id);
    const [posts, counts] = await Promise.all([
      query<{ author_id: string; title: string }>(
        count,
        `select a.id as author_id, p.title
           from unnest($1::uuid[]) as a(id)
           cross join lateral (
             select title from posts where author_id = a.id and deleted_at is null order by created_at desc, id desc limit ${NESTED_POSTS}
           ) as p`,
        [ids],
      ),
      query<{ author_id: string; n: number }>(
        count,
        'select author_id, count(*) as n from posts where author_id = any($1::uuid[]) and deleted_at is null group by author_id',
        [ids],
      ),
    ]);
    const titles = new Map<string, Array<{ title: string }>>(ids.map((id) => [id, []]));
    for (const post of posts) titles.get(post.author_id)!.push({ title: post.title });
    const totals = new Map(counts.map((row) => [row.author_id, row.n]));
    return { users: { nodes: ids.map((id) => ({ posts: { totalCount: totals.get(id) ?? 0, nodes: titles.get(id)! } })) } };
  },

  [FLOOR_PATHS.userById]: async (variables, count) => {
    const [row] = await query<UserRow>(count, 'select id, username, email, created_at from users where id = $1 and deleted_at is null', [variables.id]);
    return { user: row ? userNode(row) : null };
  },

  [FLOOR_PATHS.usersTrashed]: async (_variables, count) => {
    const rows = await query<{ id: string; username: string; email: string; deleted_at: Date }>(
      count,
      `select id, username, email, deleted_at from users where deleted_at is not null order by deleted_at desc, id desc limit ${PAGE}`,
    );
    return { users: { nodes: rows.map((row) => ({ id: row.id, username: row.username, email: row.email, deletedAt: iso(row.deleted_at) })) } };
  },

  [FLOOR_PATHS.trash]: async (_variables, count) => {
    const rows = await query<{ type: string; id: string; deletion_id: string | null; deleted_at: Date; purge_at: Date | null }>(
      count,
      `select * from (
         (select 'User' as type, id, deletion_id, deleted_at, purge_at from users where deleted_at is not null order by deleted_at desc, id desc limit ${PAGE})
         union all
         (select 'Post' as type, id, deletion_id, deleted_at, purge_at from posts where deleted_at is not null order by deleted_at desc, id desc limit ${PAGE})
       ) as trash order by deleted_at desc, id desc limit ${PAGE}`,
    );
    return {
      trash: {
        nodes: rows.map((row) => ({ __typename: row.type, id: row.id, deletionId: row.deletion_id, deletedAt: iso(row.deleted_at), purgeAt: iso(row.purge_at) })),
      },
    };
  },

  [FLOOR_PATHS.trashSearch]: async (variables, count) => {
    // The same substring semantics as the server: LIKE's special characters match themselves.
    const pattern = `%${String(variables.search).replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const users = `deleted_at is not null and (username ilike $1 or email ilike $1 or display_name ilike $1)`;
    const posts = `deleted_at is not null and title ilike $1`;
    const [rows, [total]] = await Promise.all([
      query<{ type: string; id: string; deletion_id: string | null; deleted_at: Date; purge_at: Date | null }>(
        count,
        `select * from (
           (select 'User' as type, id, deletion_id, deleted_at, purge_at from users where ${users} order by deleted_at desc, id desc limit ${PAGE})
           union all
           (select 'Post' as type, id, deletion_id, deleted_at, purge_at from posts where ${posts} order by deleted_at desc, id desc limit ${PAGE})
         ) as trash order by deleted_at desc, id desc limit ${PAGE}`,
        [pattern],
      ),
      query<{ n: number }>(count, `select (select count(*) from users where ${users}) + (select count(*) from posts where ${posts}) as n`, [pattern]),
    ]);
    return {
      trash: {
        totalCount: total.n,
        nodes: rows.map((row) => ({ __typename: row.type, id: row.id, deletionId: row.deletion_id, deletedAt: iso(row.deleted_at), purgeAt: iso(row.purge_at) })),
      },
    };
  },

  [FLOOR_PATHS.deleteUser]: async (variables, count) => {
    const id = String(variables.id);
    const deleted = await inTransaction(async (client) => {
      const [user] = await query<{ id: string; deleted_at: Date | null }>(count, 'select id, deleted_at from users where id = $1 for update', [id], client);
      if (!user) throw new GraphQLFailure(`User ${id} not found`, 'NOT_FOUND');
      if (user.deleted_at) return user;
      const now = new Date();
      const deletionId = uuidv7();
      const purgeAt = new Date(now.getTime() + RETENTION_DAYS * 86_400_000);
      // Posts then their author, and the audit event, in one statement (parent already locked above).
      await query(
        count,
        `with p as (
           update posts set deleted_at = $2, deleted_by = $3, delete_reason = null, deletion_id = $4, purge_at = $5, updated_at = $2, version = version + 1
            where author_id = $1 and deleted_at is null returning 1
         ), u as (
           update users set deleted_at = $2, deleted_by = $3, delete_reason = null, deletion_id = $4, purge_at = $5, updated_at = $2, version = version + 1
            where id = $1 returning id
         )
         insert into audit_events (id, action, entity_type, entity_id, deletion_id, actor_id, reason, affected, at)
         select $6, 'DELETE', 'User', u.id, $4, $3, null, 1 + (select count(*) from p), $2 from u`,
        [id, now, null, deletionId, purgeAt, uuidv7()],
        client,
      );
      return { id, deleted_at: now };
    }, count);
    return { deleteUser: { id: deleted.id, deletedAt: iso(deleted.deleted_at) } };
  },

  [FLOOR_PATHS.restoreUser]: async (variables, count) => {
    const id = String(variables.id);
    const restored = await inTransaction(async (client) => {
      const [user] = await query<{ id: string; deleted_at: Date | null; deletion_id: string | null; username: string; email: string }>(
        count,
        'select id, deleted_at, deletion_id, username, email from users where id = $1 for update',
        [id],
        client,
      );
      if (!user) throw new GraphQLFailure(`User ${id} not found`, 'NOT_FOUND');
      if (!user.deleted_at) return user;
      const clashes = await query<{ id: string }>(
        count,
        'select id from users where deleted_at is null and (lower(username) = lower($1) or lower(email) = lower($2)) and id <> $3 limit 1',
        [user.username, user.email, id],
        client,
      );
      if (clashes.length > 0) throw new GraphQLFailure('Another live user already has this username or email', 'CONFLICT');
      const now = new Date();
      await query(
        count,
        `with p as (
           update posts set deleted_at = null, deleted_by = null, delete_reason = null, deletion_id = null, purge_at = null, updated_at = $2, version = version + 1
            where deletion_id = $3 and deleted_at is not null returning 1
         ), u as (
           update users set deleted_at = null, deleted_by = null, delete_reason = null, deletion_id = null, purge_at = null, updated_at = $2, version = version + 1
            where id = $1 returning id
         )
         insert into audit_events (id, action, entity_type, entity_id, deletion_id, actor_id, reason, affected, at)
         select $4, 'RESTORE', 'User', u.id, $3, null, null, 1 + (select count(*) from p), $2 from u`,
        [id, now, user.deletion_id, uuidv7()],
        client,
      );
      return { ...user, deleted_at: null };
    }, count);
    return { restoreUser: { id: restored.id, deletedAt: iso(restored.deleted_at) } };
  },
};

function send(response: http.ServerResponse, status: number, payload: unknown, statements: number): void {
  const body = JSON.stringify(payload);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-floor-statements': String(statements),
  });
  response.end(body);
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const handler = handlers[request.url ?? ''];
    let statements = 0;
    const count = () => {
      statements += 1;
    };
    if (!handler) {
      send(response, 404, { errors: [{ message: `no floor route ${request.url}` }] }, 0);
      return;
    }
    let body: Body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
    } catch {
      send(response, 400, { errors: [{ message: 'invalid JSON' }] }, 0);
      return;
    }
    handler(body.variables ?? {}, count).then(
      (data) => send(response, 200, { data }, statements),
      (error: Error) => {
        const code = error instanceof GraphQLFailure ? error.code : 'INTERNAL_SERVER_ERROR';
        send(response, 200, { errors: [{ message: error.message, extensions: { code } }], data: null }, statements);
      },
    );
  });
});

server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`ready ${(server.address() as AddressInfo).port}`);
});

function shutdown(): void {
  server.close();
  server.closeAllConnections();
  pool.end().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
