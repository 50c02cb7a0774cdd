import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditAction } from '../audit/audit-event.entity';
import { AuditLog } from '../audit/audit.service';
import { columnName, tableName } from '../db/columns';
import type { ServiceContext } from '../service-context';
import { compiledStatement } from '../db/compiled/read-sql';
import { transactionRows } from '../db/compiled/transaction-statements';
import type { AnyTrashPolicy } from './trash-policy';
import { purgeRows, type PurgedRows } from './trash-statements';

/** Key of the advisory lock that lets one purger at a time work on a database. */
const PURGE_LOCK_KEY = 7_302_118_002;

/**
 * Deletes the given records and all of their children, with one DELETE per
 * table in one statement, and writes one PURGE audit event per record (ids,
 * counts and times only). The only path by which trashable rows leave the
 * database; the caller provides the transaction.
 */
export async function purgeRecords(em: EntityManager, context: ServiceContext, policy: AnyTrashPolicy, ids: readonly string[]): Promise<PurgedRows[]> {
  if (ids.length === 0) return [];
  const audit = new AuditLog(context).values(
    { action: AuditAction.PURGE, entityType: policy.typeName },
    ids.map((entityId) => ({ entityId })),
  );
  return purgeRows(em, policy, ids, audit);
}

export interface PurgePassResult {
  /** Rows removed, cascaded children included. */
  removed: number;
  /** Records selected as due and purged (their children not counted). */
  records: number;
  batches: number;
  /** True when another purger held the lock and this pass stopped without waiting. */
  skipped: boolean;
}

export interface PurgePassOptions {
  /** Which trashed records are due: purge_at passed (retention) or trashed before an instant (emptyTrash). */
  due: { column: 'purge_at' | 'deleted_at'; before: Date; inclusive: boolean };
  batchSize: number;
  /** Wait for a running purger (emptyTrash), or give up at once (the periodic job). */
  waitForLock: boolean;
  /** Stop after this many due records (their children go with them); unbounded when absent. */
  maxRecords?: number;
  /** Start no new batch once this much time has passed (the first batch always runs); unbounded when absent. */
  maxDurationMs?: number;
}

/**
 * Purges every due record, in batches of at most `batchSize` records per
 * transaction, parents first so that their children go with them. Batches
 * take a transaction-level advisory lock: across servers on one database only
 * one purger works at a time, and rows are locked with SKIP LOCKED so none is
 * removed twice.
 */
export async function runPurgePass(
  context: ServiceContext,
  policies: readonly AnyTrashPolicy[],
  options: PurgePassOptions,
): Promise<PurgePassResult> {
  const result: PurgePassResult = { removed: 0, records: 0, batches: 0, skipped: false };
  const comparison = options.due.inclusive ? '<=' : '<';
  const budget = () => (options.maxRecords ?? Number.POSITIVE_INFINITY) - result.records;
  const startedAt = Date.now();
  const outOfTime = () => result.batches > 0 && Date.now() - startedAt >= (options.maxDurationMs ?? Number.POSITIVE_INFINITY);
  for (const policy of policies) {
    const table = tableName(context.em, policy.entity);
    const ownerColumn = columnName(context.em, policy.entity, policy.ownerProperty);
    while (budget() > 0 && !outOfTime()) {
      const batchSize = Math.min(options.batchSize, budget());
      const batch = await context.em.transactional(async (em) => {
        const lockFunction = options.waitForLock ? 'pg_advisory_xact_lock' : 'pg_try_advisory_xact_lock';
        const [lock] = await transactionRows<{ acquired: boolean }>(em, compiledStatement(`purgeLock:${lockFunction}`, () => `select ${lockFunction}(${PURGE_LOCK_KEY}) as acquired`, 'write'), []);
        if (!options.waitForLock && !lock.acquired) return undefined;
        const due = await transactionRows<{ id: string; owner_id: string }>(
          em,
          compiledStatement(
            `purgeDue:${table}:${options.due.column}:${comparison}`,
            () => `select id, "${ownerColumn}" as owner_id from "${table}"
                    where deleted_at is not null and "${options.due.column}" ${comparison} $1::timestamptz
                    order by "${options.due.column}" limit $2::int for update skip locked`,
            'write',
          ),
          [options.due.before, batchSize],
        );
        const purged = await purgeRecords(
          em,
          context,
          policy,
          due.map((row) => row.id),
        );
        const ownerOf = new Map(due.map((row) => [row.id, row.owner_id]));
        return {
          records: due.length,
          ids: purged.map((record) => record.id),
          ownerIds: purged.map((record) => ownerOf.get(record.id)!),
          removed: purged.reduce((sum, record) => sum + record.removed, 0),
        };
      });
      if (!batch) return { ...result, skipped: true };
      if (batch.records === 0) break;
      context.observer?.trashChanged({
        action: 'PURGE',
        entityType: policy.typeName,
        ids: batch.ids,
        ownerIds: batch.ownerIds,
        affected: batch.removed,
        actorId: context.access.actorId,
      });
      result.batches += 1;
      result.removed += batch.removed;
      result.records += batch.records;
      if (batch.records < batchSize) break;
    }
  }
  return result;
}
