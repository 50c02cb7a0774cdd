import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ID, memberAuthorization } from './helpers/auth';
import { onlyError, startTestServer, type GraphQLResponse, type TestServer } from './helpers/test-server';
import { createUser, deleteUser } from './helpers/users';

/** Undo of one deletion (`restoreDeletion`) and its preview, through the API as a client uses them. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.stop());

const UNKNOWN_ID = '01a22707-0000-7000-8000-0000000000d1';
const ITEM = '__typename ... on Trashable { id deletionId isDeleted } ... on User { username } ... on Post { title }';
const RESTORE_DELETION = `mutation($deletionId: ID!, $onConflict: OnConflict! = FAIL) {
  restoreDeletion(deletionId: $deletionId, onConflict: $onConflict) { deletionId restored { ${ITEM} } renames { field from to item { ${ITEM} } } }
}`;
const PREVIEW_DELETION = `query($deletionId: ID, $id: ID) {
  restorePreview(deletionId: $deletionId, id: $id) {
    restorable items { ${ITEM} } conflicts { field value conflictingId item { ${ITEM} } } blockedBy { ${ITEM} } renames { field from to }
  }
}`;

function restoreDeletion(deletionId: string, authorization?: string | null): Promise<GraphQLResponse> {
  return authorization === undefined ? server.gql(RESTORE_DELETION, { deletionId }) : server.gqlAs(authorization, RESTORE_DELETION, { deletionId });
}

function previewDeletion(deletionId: string, authorization?: string | null): Promise<GraphQLResponse> {
  return authorization === undefined ? server.gql(PREVIEW_DELETION, { deletionId }) : server.gqlAs(authorization, PREVIEW_DELETION, { deletionId });
}

async function createPost(authorId: string, authorization?: string): Promise<string> {
  const query = `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`;
  const variables = { input: { authorId, title: 'undo me', body: '' } };
  const response = authorization ? await server.gqlAs(authorization, query, variables) : await server.gql(query, variables);
  if (!response.data?.createPost) throw new Error(JSON.stringify(response.errors));
  return response.data.createPost.id;
}

async function deletePost(id: string, authorization?: string): Promise<string> {
  const query = `mutation($id: ID!) { deletePost(id: $id) { deletionId } }`;
  const response = authorization ? await server.gqlAs(authorization, query, { id }) : await server.gql(query, { id });
  if (!response.data?.deletePost) throw new Error(JSON.stringify(response.errors));
  return response.data.deletePost.deletionId;
}

/** Every stored trash column of a user and its posts: what a refused restore must leave exactly as it was. */
async function snapshot(userId: string) {
  const columns = 'id, version, updated_at, deleted_at, deleted_by, deletion_id, purge_at';
  const user = await server.sql.query(`select ${columns}, username from users where id = $1`, [userId]);
  const posts = await server.sql.query(`select ${columns} from posts where author_id = $1 order by id`, [userId]);
  return { user: user.rows, posts: posts.rows };
}

/** A user with two posts trashed with it, and one post trashed on its own before. */
async function trashedUserWithPosts() {
  const user = await createUser(server);
  const alone = await createPost(user.id);
  const withIt = [await createPost(user.id), await createPost(user.id)];
  await deletePost(alone);
  const trashed = await deleteUser(server, user.id, 'undo test');
  const { rows } = await server.sql.query(`select deletion_id from users where id = $1`, [user.id]);
  return { user, alone, withIt, deletionId: rows[0].deletion_id as string, trashed };
}

describe('restoreDeletion: the Undo of one trash operation', () => {
  it('brings back the user and exactly the posts its deletion took, and says what it restored', async () => {
    const { user, alone, withIt, deletionId } = await trashedUserWithPosts();
    const response = await restoreDeletion(deletionId);
    expect(response.errors).toBeUndefined();
    const payload = response.data.restoreDeletion;
    expect(payload.deletionId).toBe(deletionId);
    expect(payload.renames).toEqual([]);
    expect(payload.restored.map((item: { id: string }) => item.id).sort()).toEqual([user.id, ...withIt].sort());
    for (const item of payload.restored) expect(item).toMatchObject({ isDeleted: false, deletionId: null });

    const stored = await server.sql.query(`select id, deleted_at, version from posts where author_id = $1`, [user.id]);
    const byId = new Map(stored.rows.map((row) => [row.id, row]));
    for (const id of withIt) expect(byId.get(id)).toMatchObject({ deleted_at: null, version: 3 });
    expect(byId.get(alone)!.deleted_at).not.toBeNull();
    const restoredUser = await server.sql.query(`select deleted_at, version from users where id = $1`, [user.id]);
    expect(restoredUser.rows[0]).toEqual({ deleted_at: null, version: 3 });
  });

  it('writes one RESTORE audit event for the record the deletion took, its posts counted in affected', async () => {
    const { user, deletionId } = await trashedUserWithPosts();
    await restoreDeletion(deletionId);
    const events = await server.gql(`query($id: ID!) { auditEvents(entityId: $id, first: 1) { nodes { action affected deletionId actorId renames { field } } } }`, {
      id: user.id,
    });
    expect(events.data.auditEvents.nodes).toEqual([{ action: 'RESTORE', affected: 3, deletionId, actorId: ADMIN_ID, renames: [] }]);
  });

  it('restores a single post deleted on its own', async () => {
    const user = await createUser(server);
    const post = await createPost(user.id);
    const deletionId = await deletePost(post);
    const response = await restoreDeletion(deletionId);
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreDeletion.restored).toEqual([{ __typename: 'Post', id: post, deletionId: null, isDeleted: false, title: 'undo me' }]);
  });

  it('refuses, changing nothing, while a post needs an author that is in the trash (PRECONDITION_FAILED, blockedBy)', async () => {
    const { user, alone } = await trashedUserWithPosts();
    const { rows } = await server.sql.query(`select deletion_id from posts where id = $1`, [alone]);
    const before = await snapshot(user.id);
    const error = onlyError(await restoreDeletion(rows[0].deletion_id));
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.extensions.blockedBy).toEqual([{ entityType: 'User', id: user.id }]);
    expect(await snapshot(user.id)).toEqual(before);
  });

  it('refuses, changing nothing, when a live user took the username meanwhile (CONFLICT)', async () => {
    const { user, deletionId } = await trashedUserWithPosts();
    const taker = await createUser(server, { username: user.username.toUpperCase() });
    const before = await snapshot(user.id);
    const error = onlyError(await restoreDeletion(deletionId));
    expect(error).toMatchObject({ code: 'CONFLICT', extensions: { field: 'username', conflictingId: taker.id } });
    expect(await snapshot(user.id)).toEqual(before);
  });

  it('answers NOT_FOUND for an unknown deletion id, a malformed one, and one already undone', async () => {
    const { deletionId } = await trashedUserWithPosts();
    expect((await restoreDeletion(deletionId)).errors).toBeUndefined();
    for (const id of [UNKNOWN_ID, 'not-a-uuid', deletionId]) {
      const error = onlyError(await restoreDeletion(id));
      expect(error.code).toBe('NOT_FOUND');
    }
  });
});

describe('restoreDeletion and restorePreview(deletionId): who may', () => {
  it('anonymous callers are told to sign in', async () => {
    const { deletionId } = await trashedUserWithPosts();
    expect(onlyError(await restoreDeletion(deletionId, null)).code).toBe('UNAUTHENTICATED');
    expect(onlyError(await previewDeletion(deletionId, null)).code).toBe('UNAUTHENTICATED');
  });

  it('a member undoes its own deletion of its own post', async () => {
    const member = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const post = await createPost(member.id, auth);
    const deletionId = await deletePost(post, auth);
    const preview = await previewDeletion(deletionId, auth);
    expect(preview.data.restorePreview).toMatchObject({ restorable: true, items: [{ id: post }] });
    const response = await restoreDeletion(deletionId, auth);
    expect(response.errors).toBeUndefined();
    expect(response.data.restoreDeletion.restored).toMatchObject([{ id: post, isDeleted: false }]);
  });

  it("a member cannot undo, nor preview, a deletion it did not make, even of its own post: NOT_FOUND, nothing changes", async () => {
    const member = await createUser(server);
    const other = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const otherAuth = await memberAuthorization(other.id);
    const ownPostTrashedByAdmin = await deletePost(await createPost(member.id));
    const othersDeletion = await deletePost(await createPost(other.id, otherAuth), otherAuth);
    for (const deletionId of [ownPostTrashedByAdmin, othersDeletion]) {
      expect(onlyError(await restoreDeletion(deletionId, auth))).toMatchObject({ code: 'NOT_FOUND', message: `Deletion ${deletionId} not found` });
      expect(onlyError(await previewDeletion(deletionId, auth)).code).toBe('NOT_FOUND');
    }
    const { rows } = await server.sql.query(`select count(*)::int as n from posts where deletion_id = any($1) and deleted_at is not null`, [
      [ownPostTrashedByAdmin, othersDeletion],
    ]);
    expect(rows[0].n).toBe(2);
  });

  it('an admin undoes anyone’s deletion', async () => {
    const member = await createUser(server);
    const auth = await memberAuthorization(member.id);
    const deletionId = await deletePost(await createPost(member.id, auth), auth);
    expect((await restoreDeletion(deletionId)).errors).toBeUndefined();
  });
});

describe('restorePreview(deletionId)', () => {
  it('lists every row the undo would bring back, and changes nothing', async () => {
    const { user, withIt, deletionId } = await trashedUserWithPosts();
    const before = await snapshot(user.id);
    const response = await previewDeletion(deletionId);
    expect(response.errors).toBeUndefined();
    const preview = response.data.restorePreview;
    expect(preview).toMatchObject({ restorable: true, conflicts: [], blockedBy: [], renames: [] });
    expect(preview.items.map((item: { id: string }) => item.id).sort()).toEqual([user.id, ...withIt].sort());
    expect(await snapshot(user.id)).toEqual(before);
  });

  it('reports the conflicts and the blocking parents that would refuse it', async () => {
    const { user, alone, deletionId } = await trashedUserWithPosts();
    const taker = await createUser(server, { username: user.username });
    const conflicted = (await previewDeletion(deletionId)).data.restorePreview;
    expect(conflicted.restorable).toBe(false);
    expect(conflicted.conflicts).toEqual([{ field: 'username', value: user.username, conflictingId: taker.id, item: expect.objectContaining({ id: user.id }) }]);

    const { rows } = await server.sql.query(`select deletion_id from posts where id = $1`, [alone]);
    const blocked = (await previewDeletion(rows[0].deletion_id)).data.restorePreview;
    expect(blocked).toMatchObject({ restorable: false, blockedBy: [{ __typename: 'User', id: user.id }] });
  });

  it('takes exactly one of id and deletionId (BAD_USER_INPUT otherwise), and NOT_FOUND for an unknown deletion', async () => {
    const { user, deletionId } = await trashedUserWithPosts();
    expect(onlyError(await server.gql(PREVIEW_DELETION, { deletionId, id: user.id })).code).toBe('BAD_USER_INPUT');
    expect(onlyError(await server.gql(PREVIEW_DELETION, {})).code).toBe('BAD_USER_INPUT');
    expect(onlyError(await previewDeletion(UNKNOWN_ID)).code).toBe('NOT_FOUND');
    const byId = await server.gql(PREVIEW_DELETION, { id: user.id });
    expect(byId.data.restorePreview.items).toHaveLength(3);
  });
});
