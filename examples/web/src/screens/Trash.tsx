import { useApolloClient, useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import type { TrashItemType } from '../gql/graphql';
import { EmptyTrashMutation, PurgePostMutation, PurgeUserMutation, TrashEventsSubscription, TrashPageQuery } from '../operations';
import { styles } from '../styles';
import { RestoreDialog } from './RestoreDialog';

const PAGE_SIZE = 20;

export function TrashScreen({ isAdmin, connections }: { isAdmin: boolean; connections: number }) {
  const client = useApolloClient();
  const [type, setType] = useState<TrashItemType | 'ALL'>('ALL');
  const [search, setSearch] = useState('');
  const [restoring, setRestoring] = useState<{ deletionId: string; label: string } | null>(null);
  const [lastEvent, setLastEvent] = useState<string | null>(null);
  // The server searches by trigrams: terms of fewer than three characters are not sent.
  const term = search.trim();
  const filter = { types: type === 'ALL' ? null : [type], search: term.length >= 3 ? term : null };
  const { data, loading, error, refetch, fetchMore } = useQuery(TrashPageQuery, {
    variables: { first: PAGE_SIZE, filter },
    fetchPolicy: 'cache-and-network',
  });

  // Live: any change of the trash, here or in another tab, on any server instance.
  useSubscription(TrashEventsSubscription, {
    onData: ({ data: event }) => {
      const change = event.data?.trashEvents;
      if (!change) return;
      setLastEvent(`${change.action} ${change.items.map((item) => `${item.entityType} ${item.id}`).join(', ')}`);
      // Purged records are gone for good: out of every cached list at once.
      if (change.action === 'PURGE') for (const item of change.items) client.cache.evict({ id: client.cache.identify({ __typename: item.entityType, id: item.id }) });
      // Lists of other filters are stale too; this one is fetched again now.
      client.cache.evict({ id: 'ROOT_QUERY', fieldName: 'users' });
      client.cache.gc();
      void refetch();
    },
  });
  // A (re)connected subscription may have missed events while it was down: fetch the list again.
  useEffect(() => {
    if (connections > 0) void refetch();
  }, [connections, refetch]);

  const evictPurged = (id: string, typename: string) => ({
    update: (cache: typeof client.cache) => {
      cache.evict({ id: cache.identify({ __typename: typename, id }) });
      cache.gc();
    },
  });
  const [purgeUser] = useMutation(PurgeUserMutation);
  const [purgePost] = useMutation(PurgePostMutation);
  const [emptyTrash, emptied] = useMutation(EmptyTrashMutation, {
    update: (cache) => {
      cache.evict({ id: 'ROOT_QUERY', fieldName: 'trash' });
      cache.gc();
    },
    refetchQueries: ['TrashPage'],
  });

  const trash = data?.trash;
  return (
    <section>
      <h1>Trash</h1>
      <p data-testid="live-status" data-live={connections > 0 ? 'connected' : 'connecting'}>
        {connections > 0 ? 'Live updates on' : 'Connecting to live updates…'}
      </p>
      <div style={styles.form}>
        <select data-testid="trash-type" value={type} onChange={(event) => setType(event.target.value as TrashItemType | 'ALL')}>
          <option value="ALL">Everything</option>
          <option value="USER">Users</option>
          <option value="POST">Posts</option>
        </select>
        <input data-testid="trash-search" placeholder="search" value={search} onChange={(event) => setSearch(event.target.value)} />
        {isAdmin && (
          <button
            data-testid="empty-trash"
            onClick={() => {
              if (confirm('Purge everything in the trash for good?')) void emptyTrash().catch(() => undefined);
            }}
          >
            Empty trash
          </button>
        )}
      </div>
      {lastEvent && (
        <p data-testid="last-event" style={{ color: '#555' }}>
          Live: {lastEvent}
        </p>
      )}
      {(error || emptied.error) && (
        <p data-testid="trash-error" style={styles.error}>
          {(error ?? emptied.error)!.message}
        </p>
      )}
      {loading && !trash && <p>Loading…</p>}
      {trash && (
        <>
          <p data-testid="trash-total">{trash.totalCount} in the trash</p>
          <table style={styles.table}>
            <tbody>
              {trash.nodes.map((item) => {
                const label = item.__typename === 'User' ? item.username : `${item.title} (by ${item.author.username})`;
                return (
                  <tr key={item.id} data-testid="trash-row" data-label={label}>
                    <td style={styles.cell}>{item.__typename}</td>
                    <td style={styles.cell} data-testid="trash-label">
                      {label}
                    </td>
                    <td style={styles.cell}>{item.deleteReason ?? ''}</td>
                    <td style={styles.cell}>{item.deletedAt ? new Date(item.deletedAt).toLocaleString() : ''}</td>
                    <td style={styles.cell}>
                      {item.deletionId && (
                        <button data-testid="restore" onClick={() => setRestoring({ deletionId: item.deletionId!, label })}>
                          Restore…
                        </button>
                      )}{' '}
                      {isAdmin && (
                        <button
                          data-testid="purge"
                          onClick={() => {
                            const options = evictPurged(item.id, item.__typename);
                            const done =
                              item.__typename === 'User'
                                ? purgeUser({ variables: { id: item.id }, ...options })
                                : purgePost({ variables: { id: item.id }, ...options });
                            void done.catch(() => undefined);
                          }}
                        >
                          Purge
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {trash.pageInfo.hasNextPage && (
            <button data-testid="trash-load-more" onClick={() => void fetchMore({ variables: { after: trash.pageInfo.endCursor } })}>
              Load more
            </button>
          )}
        </>
      )}
      {restoring && <RestoreDialog deletionId={restoring.deletionId} label={restoring.label} onClose={() => setRestoring(null)} />}
    </section>
  );
}
