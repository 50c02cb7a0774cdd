import { useMutation, useQuery } from '@apollo/client/react';
import { RestoreDeletionMutation, RestorePreviewQuery } from '../operations';
import { styles } from '../styles';
import { refreshAfterRestore } from './Users';

/**
 * What undoing a deletion would bring back, what clashes with live records
 * and which trashed parents block it; restores as is, or with renamed unique
 * values when something clashes.
 */
export function RestoreDialog({ deletionId, label, onClose }: { deletionId: string; label: string; onClose: () => void }) {
  const preview = useQuery(RestorePreviewQuery, { variables: { deletionId, onConflict: 'FAIL' }, fetchPolicy: 'network-only' });
  const plan = preview.data?.restorePreview;
  const hasConflicts = (plan?.conflicts.length ?? 0) > 0;
  const renamed = useQuery(RestorePreviewQuery, {
    variables: { deletionId, onConflict: 'RENAME' },
    fetchPolicy: 'network-only',
    skip: !hasConflicts,
  });
  const [restore, restoring] = useMutation(RestoreDeletionMutation, {
    update: (cache) => refreshAfterRestore(cache),
    refetchQueries: ['TrashPage'],
  });
  const run = (onConflict: 'FAIL' | 'RENAME') =>
    void restore({ variables: { deletionId, onConflict } })
      .then(onClose)
      .catch(() => undefined);

  return (
    <div style={styles.dialog} role="dialog" data-testid="restore-dialog">
      <div style={styles.dialogBody}>
        <h2>Restore {label}</h2>
        {preview.loading && <p>Checking…</p>}
        {preview.error && <p style={styles.error}>{preview.error.message}</p>}
        {plan && (
          <>
            <h3>Comes back</h3>
            <ul data-testid="restore-items">
              {plan.items.map((item) => (
                <li key={item.id}>
                  {item.__typename} {item.__typename === 'User' ? item.username : item.__typename === 'Post' ? item.title : ''}
                </li>
              ))}
            </ul>
            {hasConflicts && (
              <>
                <h3>Conflicts</h3>
                <ul data-testid="restore-conflicts">
                  {plan.conflicts.map((conflict) => (
                    <li key={`${conflict.field}:${conflict.value}`} data-testid="restore-conflict">
                      {conflict.field} “{conflict.value}” is taken by a live record ({conflict.conflictingId})
                    </li>
                  ))}
                </ul>
                {renamed.data && renamed.data.restorePreview.renames.length > 0 && (
                  <ul data-testid="restore-renames">
                    {renamed.data.restorePreview.renames.map((rename) => (
                      <li key={`${rename.field}:${rename.from}`} data-testid="restore-rename">
                        {rename.field}: {rename.from} → {rename.to}
                      </li>
                    ))}
                  </ul>
                )}
              </>
            )}
            {plan.blockedBy.length > 0 && (
              <>
                <h3>Blocked by</h3>
                <ul data-testid="restore-blocked-by">
                  {plan.blockedBy.map((parent) => (
                    <li key={parent.id}>
                      {parent.__typename} {parent.__typename === 'User' ? parent.username : parent.id} is in the trash: restore it first
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )}
        {restoring.error && (
          <p data-testid="restore-error" style={styles.error}>
            {restoring.error.message}
          </p>
        )}
        <div style={styles.form}>
          {plan?.restorable && (
            <button data-testid="restore-confirm" onClick={() => run('FAIL')}>
              Restore
            </button>
          )}
          {hasConflicts && plan?.blockedBy.length === 0 && renamed.data?.restorePreview.restorable && (
            <button data-testid="restore-rename-confirm" onClick={() => run('RENAME')}>
              Restore with new names
            </button>
          )}
          <button data-testid="restore-cancel" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}
