import { useMutation, useQuery } from '@apollo/client/react';
import type { ApolloCache, Reference } from '@apollo/client';
import { useState } from 'react';
import { CreatePostMutation, CreateUserMutation, DeleteUserMutation, RestoreDeletionMutation, UsersPageQuery } from '../operations';
import { styles } from '../styles';

const PAGE_SIZE = 10;

/**
 * After a user moved to the trash: it leaves every list of live users at once
 * (and their counts drop); lists that show trashed rows (onlyDeleted, the
 * trash) are evicted, so they load again with it in place when next shown.
 */
export function removeTrashedUserFromCache(cache: ApolloCache, userId: string): void {
  cache.modify({
    fields: {
      users(existing, { storeFieldName, readField, DELETE }) {
        if (storeFieldName.includes('"onlyDeleted":true')) return DELETE;
        if (storeFieldName.includes('"includeDeleted":true')) return existing;
        const connection = existing as { nodes: Reference[]; totalCount?: number };
        const nodes = connection.nodes.filter((node) => readField('id', node) !== userId);
        if (nodes.length === connection.nodes.length) return existing;
        return { ...connection, nodes, totalCount: connection.totalCount === undefined ? undefined : connection.totalCount - 1 };
      },
      trash(_existing, { DELETE }) {
        return DELETE;
      },
    },
  });
}

/** After a restore: the lists it affects load again; the restored records themselves are updated by the response. */
export function refreshAfterRestore(cache: ApolloCache): void {
  cache.evict({ id: 'ROOT_QUERY', fieldName: 'users' });
  cache.evict({ id: 'ROOT_QUERY', fieldName: 'trash' });
  cache.gc();
}

interface Undo {
  username: string;
  deletionId: string;
}

export function UsersScreen({ isAdmin }: { isAdmin: boolean }) {
  const { data, loading, error, fetchMore } = useQuery(UsersPageQuery, { variables: { first: PAGE_SIZE } });
  const [createUser, created] = useMutation(CreateUserMutation, { refetchQueries: ['UsersPage'] });
  const [createPost] = useMutation(CreatePostMutation, { refetchQueries: ['UsersPage'] });
  const [deleteUser, deleted] = useMutation(DeleteUserMutation);
  const [restoreDeletion, restored] = useMutation(RestoreDeletionMutation);
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [deleting, setDeleting] = useState<{ id: string; username: string } | null>(null);
  const [reason, setReason] = useState('');
  const [undo, setUndo] = useState<Undo | null>(null);

  const confirmDelete = async () => {
    if (!deleting) return;
    const target = deleting;
    setDeleting(null);
    const result = await deleteUser({
      variables: { id: target.id, reason: reason || null },
      // The row goes at once; if the server refuses, Apollo rolls this back.
      optimisticResponse: {
        __typename: 'Mutation',
        deleteUser: {
          __typename: 'User',
          id: target.id,
          username: target.username,
          isDeleted: true,
          deletedAt: new Date().toISOString(),
          deletionId: null,
          deleteReason: reason || null,
          version: 0,
        },
      },
      update: (cache, { data: response }) => {
        if (response?.deleteUser.isDeleted) removeTrashedUserFromCache(cache, response.deleteUser.id);
      },
    }).catch(() => undefined);
    setReason('');
    const deletionId = result?.data?.deleteUser.deletionId;
    if (deletionId) setUndo({ username: target.username, deletionId });
  };

  const undoDelete = async () => {
    if (!undo) return;
    const { deletionId } = undo;
    setUndo(null);
    await restoreDeletion({
      variables: { deletionId, onConflict: 'FAIL' },
      update: (cache) => refreshAfterRestore(cache),
      refetchQueries: ['UsersPage'],
      awaitRefetchQueries: true,
    }).catch(() => undefined);
  };

  const users = data?.users;
  return (
    <section>
      <h1>Users</h1>
      {isAdmin && (
        <form
          style={styles.form}
          onSubmit={(event) => {
            event.preventDefault();
            void createUser({ variables: { input: { username, email } } })
              .then(() => {
                setUsername('');
                setEmail('');
              })
              .catch(() => undefined);
          }}
        >
          <input data-testid="new-username" placeholder="username" value={username} onChange={(event) => setUsername(event.target.value)} />
          <input data-testid="new-email" placeholder="email" value={email} onChange={(event) => setEmail(event.target.value)} />
          <button data-testid="create-user" type="submit">
            Create user
          </button>
        </form>
      )}
      {created.error && (
        <p data-testid="create-error" style={styles.error}>
          {created.error.message}
        </p>
      )}
      {(error || deleted.error || restored.error) && (
        <p data-testid="users-error" style={styles.error}>
          {(error ?? deleted.error ?? restored.error)!.message}
        </p>
      )}
      {loading && !users && <p>Loading…</p>}
      {users && (
        <>
          <p data-testid="users-total">{users.totalCount} users</p>
          <table style={styles.table}>
            <thead>
              <tr>
                <th style={styles.cell}>Username</th>
                <th style={styles.cell}>Email</th>
                <th style={styles.cell}>Posts</th>
                <th style={styles.cell} />
              </tr>
            </thead>
            <tbody>
              {users.nodes.map((user) => (
                <tr key={user.id} data-testid="user-row" data-username={user.username}>
                  <td style={styles.cell} data-testid="user-username">
                    {user.username}
                  </td>
                  <td style={styles.cell}>{user.email}</td>
                  <td style={styles.cell} data-testid="user-posts">
                    {user.posts.totalCount}
                  </td>
                  <td style={styles.cell}>
                    <button
                      data-testid="add-post"
                      onClick={() =>
                        void createPost({
                          variables: { input: { authorId: user.id, title: `Post ${user.posts.totalCount + 1} by ${user.username}`, body: 'Written in the web app.' } },
                        }).catch(() => undefined)
                      }
                    >
                      Add post
                    </button>{' '}
                    <button data-testid="delete-user" onClick={() => setDeleting({ id: user.id, username: user.username })}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {users.pageInfo.hasNextPage && (
            <button
              data-testid="load-more"
              onClick={() => void fetchMore({ variables: { first: PAGE_SIZE, after: users.pageInfo.endCursor } })}
            >
              Load more
            </button>
          )}
        </>
      )}
      {deleting && (
        <div style={styles.dialog} role="dialog" data-testid="delete-dialog">
          <div style={styles.dialogBody}>
            <h2>Delete {deleting.username}?</h2>
            <p>The user and its posts go to the trash; they can be restored until the trash is emptied.</p>
            <input data-testid="delete-reason" placeholder="reason (optional)" value={reason} onChange={(event) => setReason(event.target.value)} />
            <div style={styles.form}>
              <button data-testid="confirm-delete" onClick={() => void confirmDelete()}>
                Move to trash
              </button>
              <button onClick={() => setDeleting(null)}>Cancel</button>
            </div>
          </div>
        </div>
      )}
      {undo && (
        <div style={styles.toast} role="status" data-testid="undo-toast">
          <span>{undo.username} moved to the trash.</span>
          <button data-testid="undo" onClick={() => void undoDelete()}>
            Undo
          </button>
          <button onClick={() => setUndo(null)}>Dismiss</button>
        </div>
      )}
    </section>
  );
}
