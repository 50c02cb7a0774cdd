import type { EntityManager } from '@mikro-orm/postgresql';
import { columnName, tableName } from '../db/columns';
import { compiledStatement } from '../db/compiled/read-sql';
import { transactionRows } from '../db/compiled/transaction-statements';
import { rowsToEntities } from '../db/rows';
import type { AnyTrashPolicy, LiveUniqueKey } from './trash-policy';
import type { TrashableEntity } from './trashable.entity';


/** What a restore does with a unique value that a live record holds meanwhile. */
export enum OnConflict {
  /** Refuse the whole restore with CONFLICT. */
  FAIL = 'FAIL',
  /** Give the restored record a free variant of the value, where the field allows one. */
  RENAME = 'RENAME',
}

/** A live record holding a unique value that a restore would bring back. */
export interface RestoreConflict {
  item: TrashableEntity;
  field: string;
  value: string;
  conflictingId: string;
}

/** A unique value a RENAME restore replaces with a free variant. */
export interface RestoreRename {
  item: TrashableEntity;
  field: string;
  from: string;
  to: string;
}

/**
 * The trashed rows of one entity that a restore brings back: every row of a
 * deletion, narrowed to one record or to the children of one parent.
 */
export interface RestoreSelection {
  policy: AnyTrashPolicy;
  deletionId: string;
  /** Only this record. */
  id?: string;
  /** Only the children of this parent, through the child's many-to-one property. */
  parent?: { property: string; id: string };
}

/** The same selection as SQL on table alias `alias`, for the statements a QueryBuilder cannot write. */
export function selectionSql(em: EntityManager, selection: RestoreSelection, alias: string): { sql: string; params: string[] } {
  const conditions = [`${alias}.deletion_id = ?`, `${alias}.deleted_at is not null`];
  const params = [selection.deletionId];
  if (selection.id) {
    conditions.push(`${alias}.id = ?`);
    params.push(selection.id);
  }
  if (selection.parent) {
    conditions.push(`${alias}."${columnName(em, selection.policy.entity, selection.parent.property)}" = ?`);
    params.push(selection.parent.id);
  }
  return { sql: conditions.join(' and '), params };
}

function tableOf(em: EntityManager, policy: AnyTrashPolicy): string {
  return tableName(em, policy.entity);
}

/**
 * Inside a change's transaction, a prepared statement on its connection (the
 * texts here are a handful per entity); a preview outside one reads through the ORM's connection.
 */
function run<R>(em: EntityManager, sql: string, params: unknown[]): Promise<R[]> {
  if (!em.getTransactionContext()) return em.getConnection().execute(sql, params, 'all');
  const statement = compiledStatement(sql, () => {
    let position = 0;
    return sql.replace(/\?/g, () => `$${++position}`);
  }, 'write');
  return transactionRows<R>(em, statement, params);
}

/**
 * The selected rows as plain (unmanaged) entities, in id order; with `lock`,
 * locked FOR UPDATE in that order, so concurrent restores cannot deadlock on them.
 */
export async function loadSelection(em: EntityManager, selection: RestoreSelection, options: { lock: boolean }): Promise<TrashableEntity[]> {
  const { sql, params } = selectionSql(em, selection, 'e');
  const rows = await run<Record<string, unknown>>(
    em,
    `select e.* from "${tableOf(em, selection.policy)}" e where ${sql} order by e.id${options.lock ? ' for update' : ''}`,
    params,
  );
  return rowsToEntities(em, selection.policy.entity, rows);
}

/**
 * Trashed parents that the selected rows need live and that the restore does
 * not bring back itself (they are not in `set`). One statement per required
 * parent; with `lock`, every such parent, live or trashed, is share-locked so
 * it cannot go to the trash while the restore runs.
 */
export async function findBlockingParents(
  em: EntityManager,
  selection: RestoreSelection,
  set: readonly RestoreSelection[],
  options: { lock: boolean },
): Promise<TrashableEntity[]> {
  const blocking: TrashableEntity[] = [];
  for (const parent of selection.policy.requiresLive()) {
    const child = selectionSql(em, selection, 'c');
    const parentColumn = columnName(em, selection.policy.entity, parent.property);
    const restoredWithIt = set.find((candidate) => candidate.policy === parent.policy);
    const excluded = restoredWithIt ? selectionSql(em, restoredWithIt, 'p') : undefined;
    const rows = await run<Record<string, unknown>>(
      em,
      `select p.* from "${tableOf(em, parent.policy)}" p
        where p.id in (select c."${parentColumn}" from "${tableOf(em, selection.policy)}" c where ${child.sql})
          ${excluded ? `and not (${excluded.sql})` : ''}
        order by p.id${options.lock ? ' for share' : ''}`,
      [...child.params, ...(excluded?.params ?? [])],
    );
    blocking.push(...rowsToEntities(em, parent.policy.entity, rows.filter((row) => row.deleted_at != null)));
  }
  return blocking;
}

/**
 * Live records that hold, case-insensitively, a unique value of the selected
 * trashed rows: one statement for all unique keys (one branch per key), in
 * the order of the policy's keys.
 */
export async function findLiveClashes(em: EntityManager, selection: RestoreSelection): Promise<RestoreConflict[]> {
  const keys = selection.policy.uniqueKeys as LiveUniqueKey<TrashableEntity>[];
  if (keys.length === 0) return [];
  const table = tableOf(em, selection.policy);
  const { sql, params } = selectionSql(em, selection, 'c');
  const branches = keys.map((key, index) => {
    const column = columnName(em, selection.policy.entity, key.field);
    return `select c.*, l.id as conflicting_id, ${index} as clash_key, c."${column}" as clash_value
         from "${table}" c
         join "${table}" l on lower(l."${column}") = lower(c."${column}") and l.deleted_at is null and l.id <> c.id
        where ${sql}`;
  });
  const rows = await run<Record<string, unknown>>(
    em,
    `${branches.join('\n union all\n')}\n order by clash_key, id`,
    keys.flatMap(() => params),
  );
  const items = rowsToEntities(em, selection.policy.entity, rows);
  return items.map((item, index) => ({
    item,
    field: keys[Number(rows[index].clash_key)].field,
    value: String(rows[index].clash_value),
    conflictingId: String(rows[index].conflicting_id),
  }));
}

/** How many free variants are looked up per statement when picking a new value. */
const VARIANTS_PER_LOOKUP = 20;

/**
 * With RENAME, gives every clash on a field that allows free variants a value
 * that no live record holds and that no other record of this restore would
 * bring back; clashes on other fields (e.g. email) stay conflicts. A value
 * picked here can still be taken by a concurrent writer before the restore
 * commits: the unique index then rejects the restore, which is retried.
 */
export async function resolveClashes(
  em: EntityManager,
  set: readonly RestoreSelection[],
  conflicts: RestoreConflict[],
  onConflict: OnConflict,
): Promise<{ conflicts: RestoreConflict[]; renames: RestoreRename[] }> {
  if (onConflict !== OnConflict.RENAME) return { conflicts, renames: [] };
  const remaining: RestoreConflict[] = [];
  const renames: RestoreRename[] = [];
  const reserved = new Map<string, Set<string>>();
  for (const conflict of conflicts) {
    const selection = set.find((candidate) => conflict.item instanceof candidate.policy.entity)!;
    const key = (selection.policy.uniqueKeys as LiveUniqueKey<TrashableEntity>[]).find((candidate) => candidate.field === conflict.field);
    if (!key?.freeVariant) {
      remaining.push(conflict);
      continue;
    }
    if (renames.some((rename) => rename.item.id === conflict.item.id && rename.field === conflict.field)) continue;
    const reservedKey = `${selection.policy.typeName}.${key.field}`;
    if (!reserved.has(reservedKey)) reserved.set(reservedKey, await valuesRestoredWith(em, set, selection.policy, key.field));
    const taken = reserved.get(reservedKey)!;
    const to = await pickFreeVariant(em, selection.policy, key, conflict.value, taken);
    taken.add(to.toLowerCase());
    renames.push({ item: conflict.item, field: key.field, from: conflict.value, to });
  }
  return { conflicts: remaining, renames };
}

/** Values of `field` that the restore brings back: a new value must not clash with them either. */
async function valuesRestoredWith(em: EntityManager, set: readonly RestoreSelection[], policy: AnyTrashPolicy, field: string): Promise<Set<string>> {
  const values = new Set<string>();
  const column = columnName(em, policy.entity, field);
  for (const selection of set.filter((candidate) => candidate.policy === policy)) {
    const { sql, params } = selectionSql(em, selection, 'c');
    const rows = await run<{ value: string }>(em, `select lower(c."${column}") as value from "${tableOf(em, policy)}" c where ${sql}`, params);
    for (const row of rows) values.add(row.value);
  }
  return values;
}

async function pickFreeVariant(
  em: EntityManager,
  policy: AnyTrashPolicy,
  key: LiveUniqueKey<TrashableEntity>,
  value: string,
  reserved: Set<string>,
): Promise<string> {
  const column = columnName(em, policy.entity, key.field);
  for (let first = 1; ; first += VARIANTS_PER_LOOKUP) {
    const candidates = Array.from({ length: VARIANTS_PER_LOOKUP }, (_, index) => key.freeVariant!(value, first + index));
    // Served by the live-only unique index on lower(column).
    const rows = await run<{ value: string }>(
      em,
      `select lower("${column}") as value from "${tableOf(em, policy)}"
        where deleted_at is null and lower("${column}") in (${candidates.map(() => 'lower(?)').join(', ')})`,
      candidates,
    );
    const live = new Set(rows.map((row) => row.value));
    const free = candidates.find((candidate) => !live.has(candidate.toLowerCase()) && !reserved.has(candidate.toLowerCase()));
    if (free) return free;
  }
}

/** Writes the new values; the rows are still trashed, so the unique indexes judge them when they come back. */
export async function applyRenames(em: EntityManager, renames: readonly RestoreRename[]): Promise<void> {
  for (const rename of renames) {
    // Plain SQL: MikroORM's nativeUpdate would bump the version, and the restore itself is the one change.
    const entity = rename.item.constructor as typeof TrashableEntity;
    const table = tableName(em, entity);
    await run(em, `update "${table}" set "${columnName(em, entity, rename.field)}" = ? where id = ?`, [rename.to, rename.item.id]);
    (rename.item as unknown as Record<string, unknown>)[rename.field] = rename.to;
  }
}
