import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditAction } from '../src/audit/audit-event.entity';
import { AuditLog } from '../src/audit/audit.service';
import { loadConfig } from '../src/config';
import { newId } from '../src/db/ids';
import { userTrashPolicy } from '../src/modules/trash-policies';
import { User } from '../src/modules/user/user.entity';
import { ormOptions } from '../src/orm';
import type { ServiceContext } from '../src/service-context';
import { changeTrashColumns, liveColumns, lockForChange } from '../src/trash/trash-statements';
import { ADMIN_ID, memberAuthorization, TEST_JWT_SECRET } from './helpers/auth';
import { createPost, deletePost } from './helpers/posts';
import { createUser } from './helpers/users';
import { onlyError, startTestServer, type TestServer } from './helpers/test-server';

/**
 * A record's move to the trash and back is written by compiled statements
 * (trash/trash-statements.ts), not by the unit of work: what they store is
 * checked here column by column, as the database holds it.
 */
const RETENTION_DAYS = 30;
const REFUSED_REASON = 'refused by a check';

let server: TestServer;
beforeAll(async () => {
  const defaults = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET });
  server = await startTestServer({ config: { trash: { ...defaults.trash, retentionDays: RETENTION_DAYS } } });
  await server.sql.query(`alter table audit_events add constraint audit_refused check (reason is distinct from '${REFUSED_REASON}')`);
});
afterAll(() => server?.stop());

const TRASH_COLUMNS = 'deleted_at, deleted_by, delete_reason, deletion_id, purge_at, updated_at, version';

async function rowsOf(table: 'users' | 'posts', ids: string[]): Promise<Map<string, Record<string, any>>> {
  const result = await server.sql.query(`select id, ${TRASH_COLUMNS} from ${table} where id = any($1::uuid[])`, [ids]);
  return new Map(result.rows.map((row) => [row.id, row]));
}

async function auditOf(entityId: string): Promise<Array<Record<string, any>>> {
  const result = await server.sql.query(
    `select action, entity_type, entity_id, deletion_id, actor_id, reason, affected, at, renames from audit_events where entity_id = $1 order by at, id`,
    [entityId],
  );
  return result.rows;
}

describe('a move to the trash and back, as stored', () => {
  it('deleteUser sets the trash columns of the user and of its live posts as a change, and writes one audit event counting them', async () => {
    const user = await createUser(server);
    const [first, second, own] = [await createPost(server, user.id), await createPost(server, user.id), await createPost(server, user.id)];
    await deletePost(server, own.id, 'trashed on its own');
    const before = await rowsOf('posts', [first.id, second.id, own.id]);
    const member = await memberAuthorization(user.id);

    const response = await server.gqlAs(member, `mutation($id: ID!) { deleteUser(id: $id, reason: "moving on") { id deletedAt version } }`, { id: user.id });
    expect(response.errors).toBeUndefined();
    const deleted = response.data.deleteUser;
    expect(deleted.version).toBe(user.version + 1);

    const [row] = (await rowsOf('users', [user.id])).values();
    expect(row.deleted_at.toISOString()).toBe(deleted.deletedAt);
    expect(row).toMatchObject({ deleted_by: user.id, delete_reason: 'moving on', version: user.version + 1 });
    expect(row.updated_at.getTime()).toBe(row.deleted_at.getTime());
    expect(row.purge_at.getTime() - row.deleted_at.getTime()).toBe(RETENTION_DAYS * 86_400_000);
    expect(row.deletion_id).toMatch(/^[0-9a-f-]{36}$/);

    const posts = await rowsOf('posts', [first.id, second.id, own.id]);
    for (const id of [first.id, second.id]) {
      expect(posts.get(id)).toEqual({ ...row, id, version: before.get(id)!.version + 1 });
    }
    // Trashed before, by a deletion of its own: left exactly as it was.
    expect(posts.get(own.id)).toEqual(before.get(own.id));

    const events = await auditOf(user.id);
    expect(events.map((event) => event.action)).toEqual(['CREATE', 'DELETE']);
    const event = events[1];
    expect(event).toMatchObject({
      action: 'DELETE',
      entity_type: 'User',
      deletion_id: row.deletion_id,
      actor_id: user.id,
      reason: 'moving on',
      affected: 3,
      renames: null,
    });
    expect(event.at).toBeInstanceOf(Date);
  });

  it('restoreUser clears them on the user and on exactly the posts its deletion took, and writes the RESTORE event', async () => {
    const user = await createUser(server);
    const [taken, own] = [await createPost(server, user.id), await createPost(server, user.id)];
    await deletePost(server, own.id);
    const member = await memberAuthorization(user.id);
    await server.gqlAs(member, `mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: user.id });
    const trashed = await rowsOf('posts', [taken.id, own.id]);
    const [trashedUser] = (await rowsOf('users', [user.id])).values();

    // Restoring a user is an admin's call.
    const response = await server.gql(`mutation($id: ID!) { restoreUser(id: $id) { id deletedAt version } }`, { id: user.id });
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreUser).toMatchObject({ deletedAt: null, version: trashedUser.version + 1 });

    const live = { deleted_at: null, deleted_by: null, delete_reason: null, deletion_id: null, purge_at: null };
    const [row] = (await rowsOf('users', [user.id])).values();
    expect(row).toMatchObject({ ...live, version: trashedUser.version + 1 });
    const posts = await rowsOf('posts', [taken.id, own.id]);
    expect(posts.get(taken.id)).toMatchObject({ ...live, version: trashed.get(taken.id)!.version + 1 });
    expect(posts.get(taken.id)!.updated_at.getTime()).toBe(row.updated_at.getTime());
    expect(posts.get(own.id)).toEqual(trashed.get(own.id));

    const events = await auditOf(user.id);
    expect(events.map((event) => event.action)).toEqual(['CREATE', 'DELETE', 'RESTORE']);
    expect(events[2]).toMatchObject({ entity_type: 'User', deletion_id: trashedUser.deletion_id, actor_id: ADMIN_ID, reason: null, affected: 2, renames: null });
  });

  it('deleteUsers writes one event per user, each counting its own posts, all under the one deletion', async () => {
    const [busy, idle] = [await createUser(server), await createUser(server)];
    await createPost(server, busy.id);
    await createPost(server, busy.id);

    const response = await server.gql(`mutation($ids: [ID!]!) { deleteUsers(ids: $ids) { deletionId affected } }`, { ids: [busy.id, idle.id] });
    expect(response.errors).toBeUndefined();
    const { deletionId, affected } = response.data.deleteUsers;
    expect(affected).toBe(4);
    const [busyEvent, idleEvent] = [(await auditOf(busy.id))[1], (await auditOf(idle.id))[1]];
    expect(busyEvent).toMatchObject({ action: 'DELETE', deletion_id: deletionId, affected: 3 });
    expect(idleEvent).toMatchObject({ action: 'DELETE', deletion_id: deletionId, affected: 1 });
    const users = await rowsOf('users', [busy.id, idle.id]);
    expect(new Set([...users.values()].map((row) => row.deletion_id))).toEqual(new Set([deletionId]));
  });

  it('a RENAME restore stores the renames in its event as JSON', async () => {
    const user = await createUser(server);
    await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: user.id });
    await createUser(server, { username: user.username.toUpperCase() });

    const response = await server.gql(`mutation($id: ID!) { restoreUser(id: $id, onConflict: RENAME) { username } }`, { id: user.id });
    expect(response.errors).toBeUndefined();
    const [, , restored] = await auditOf(user.id);
    expect(restored.renames).toEqual([{ entityType: 'User', entityId: user.id, field: 'username', from: user.username, to: response.data.restoreUser.username }]);
  });

  it('purgeUser removes the user and its posts, clears the renames of its earlier events, and writes the PURGE event naming its deletion', async () => {
    const user = await createUser(server);
    await createPost(server, user.id);
    await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: user.id });
    await createUser(server, { username: user.username.toUpperCase() });
    await server.gql(`mutation($id: ID!) { restoreUser(id: $id, onConflict: RENAME) { id } }`, { id: user.id });
    const deleted = await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { deletionId } }`, { id: user.id });

    const response = await server.gql(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: user.id });
    expect(response.data.purgeUser).toBe(2);
    expect((await rowsOf('users', [user.id])).size).toBe(0);
    expect((await server.sql.query(`select count(*)::int as n from posts where author_id = $1`, [user.id])).rows[0].n).toBe(0);
    const events = await auditOf(user.id);
    expect(events.map((event) => event.action)).toEqual(['CREATE', 'DELETE', 'RESTORE', 'DELETE', 'PURGE']);
    expect(events.every((event) => event.renames === null)).toBe(true);
    expect(events[4]).toMatchObject({ entity_type: 'User', deletion_id: deleted.data.deleteUser.deletionId, actor_id: ADMIN_ID, reason: null, affected: 2 });
  });

  it('restorePost share-locks its author first: a concurrent move of the author to the trash is waited for, then blocks the restore', async () => {
    const author = await createUser(server);
    const post = await createPost(server, author.id);
    await deletePost(server, post.id);
    const concurrent = await server.sql.connect();
    try {
      await concurrent.query('begin');
      await concurrent.query(`update users set deleted_at = now(), deletion_id = gen_random_uuid() where id = $1`, [author.id]);
      let settled = false;
      const restore = server.gql(`mutation($id: ID!) { restorePost(id: $id) { id } }`, { id: post.id }).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await concurrent.query('commit');
      const error = onlyError(await restore);
      expect(error.code).toBe('PRECONDITION_FAILED');
      expect(error.extensions.blockedBy).toEqual([{ entityType: 'User', id: author.id }]);
    } finally {
      concurrent.release();
    }
    const [row] = (await rowsOf('posts', [post.id])).values();
    expect(row.deleted_at).not.toBeNull();
  });

  it('a statement refused by the database changes nothing: the lock, the rows and the event roll back together', async () => {
    const user = await createUser(server);
    const post = await createPost(server, user.id);
    const before = { user: await rowsOf('users', [user.id]), post: await rowsOf('posts', [post.id]) };

    const response = await server.gql(`mutation($id: ID!, $reason: String) { deleteUser(id: $id, reason: $reason) { id } }`, { id: user.id, reason: REFUSED_REASON });
    expect(onlyError(response).code).toBe('INTERNAL_SERVER_ERROR');
    expect(await rowsOf('users', [user.id])).toEqual(before.user);
    expect(await rowsOf('posts', [post.id])).toEqual(before.post);
    expect((await auditOf(user.id)).map((event) => event.action)).toEqual(['CREATE']);

    // The connection went back to the pool clean: the next change on the same record succeeds.
    const retry = await server.gql(`mutation($id: ID!) { deleteUser(id: $id) { id isDeleted } }`, { id: user.id });
    expect(retry.data.deleteUser.isDeleted).toBe(true);
  });
});

describe('the statements of a change of one record', () => {
  it('are planned once per connection: after their first runs PostgreSQL keeps their generic plans', async () => {
    // An ORM of one connection, so that the statements prepared on it can be inspected.
    const orm = await MikroORM.init({ ...ormOptions(server.app.orm.config.getClientUrl()), pool: { min: 1, max: 1 } });
    try {
      // PostgreSQL keeps re-planning a statement whose generic plan it estimates dearer than the plans made for its values,
      // which only shows on tables of some size: this test comes last and adds 20,000 users with 3 posts each.
      await server.sql.query(`
        insert into users (id, created_at, updated_at, version, username, email)
        select gen_random_uuid(), now(), now(), 1, 'bulk_' || i, 'bulk_' || i || '@example.com' from generate_series(1, 20000) as i`);
      await server.sql.query(`
        insert into posts (id, created_at, updated_at, version, author_id, title, body)
        select gen_random_uuid(), now(), now(), 1, u.id, 'post ' || p, 'body' from users u cross join generate_series(1, 3) as p where u.username like 'bulk\\_%'`);
      await server.sql.query('analyze users, posts');
      const user = await createUser(server);
      await createPost(server, user.id);
      const audit = new AuditLog({ access: { actorId: ADMIN_ID }, clock: () => new Date() } as unknown as ServiceContext);
      for (let run = 0; run < 8; run += 1) {
        await orm.em.fork().transactional(async (em) => {
          const [record] = await lockForChange(em as EntityManager, User, [user.id], {});
          const columns = { deletedAt: new Date(), deletedBy: ADMIN_ID, deleteReason: null, deletionId: newId(), purgeAt: null };
          const entry = { action: AuditAction.DELETE, entityType: 'User', deletionId: columns.deletionId };
          await changeTrashColumns(em as EntityManager, userTrashPolicy, { records: [record], columns, children: { live: true }, now: new Date(), audit: audit.values(entry, [{ entityId: user.id }]) });
        });
        await orm.em.fork().transactional(async (em) => {
          const [record] = await lockForChange(em as EntityManager, User, [user.id], {});
          const entry = { action: AuditAction.RESTORE, entityType: 'User', deletionId: record.deletionId };
          const children = { trashedBy: record.deletionId! };
          await changeTrashColumns(em as EntityManager, userTrashPolicy, { records: [record], columns: liveColumns, children, now: new Date(), audit: audit.values(entry, [{ entityId: user.id }]) });
        });
      }
      const statements: Array<{ statement: string; generic_plans: string; custom_plans: string }> = await orm.em
        .getConnection()
        .execute(`select statement, generic_plans, custom_plans from pg_prepared_statements where name like 'write_%'`);
      // The lock, the move to the trash and the restore.
      expect(statements).toHaveLength(3);
      for (const { statement, generic_plans, custom_plans } of statements) {
        expect(Number(custom_plans), statement).toBeLessThanOrEqual(5);
        expect(Number(generic_plans), statement).toBeGreaterThanOrEqual(3);
      }
      const [row] = (await rowsOf('users', [user.id])).values();
      expect(row.deleted_at).toBeNull();
    } finally {
      await orm.close(true);
    }
  });
});
