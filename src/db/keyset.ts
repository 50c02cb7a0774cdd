import { raw, type EntityClass, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { columnName } from './columns';
import { rowsToEntities } from './rows';

/**
 * A listing's order: newest first by `sortProperty`, then by `id`, both
 * descending, over the rows `where` selects. Each order used by the API has an
 * index in exactly this order, so a page after a cursor is one index range scan.
 */
export interface KeysetOrder<T> {
  /** Written into cursors, so a cursor is only accepted by the listing it came from. */
  name: string;
  sortProperty: keyof T & string;
  where: FilterQuery<T>;
}

/** A position in a keyset order: the last row of the previous page. */
export interface Cursor {
  sortValue: Date;
  id: string;
}

export interface KeysetQuery<T extends { id: string }> {
  entity: EntityClass<T>;
  first: number;
  /** Rows strictly after this position. */
  after?: Cursor | null;
  order: KeysetOrder<T>;
  /** Further conditions (for example a parent's id); ANDed with the order's own. */
  where?: FilterQuery<T>;
}

/** Up to `first + 1` rows (one more tells whether a next page exists); written as SQL, so no ORM filter applies. */
function keysetQuery<T extends { id: string }>(em: EntityManager, query: KeysetQuery<T>) {
  const { order } = query;
  const qb = em
    .createQueryBuilder(query.entity, 'e')
    .select('*')
    .where({ $and: [order.where, query.where ?? {}] } as FilterQuery<T>)
    .orderBy({ [order.sortProperty]: 'desc', id: 'desc' } as never)
    .limit(query.first + 1);
  if (query.after != null) {
    // A row comparison walks the (sort, id) index from the cursor on.
    qb.andWhere(`(e.${columnName(em, query.entity, order.sortProperty)}, e.id) < (?, ?)`, [query.after.sortValue, query.after.id]);
  }
  return qb;
}

/**
 * Up to `first + 1` rows, newest first, by keyset (never OFFSET): the cost of
 * a page does not depend on its depth, nor on how many rows other orders would list.
 */
export async function findKeysetRows<T extends { id: string }>(em: EntityManager, query: KeysetQuery<T>): Promise<T[]> {
  const rows = await keysetQuery(em, query).execute<Array<Record<string, unknown>>>('all', false);
  return rowsToEntities(em, query.entity, rows);
}

/** What the same query lists across all pages; like the rows, written as SQL, so no ORM filter applies. */
export async function countKeysetRows<T extends { id: string }>(em: EntityManager, query: Omit<KeysetQuery<T>, 'first' | 'after'>): Promise<number> {
  const [row]: Array<{ count: string }> = await em
    .createQueryBuilder(query.entity, 'e')
    .select(raw('count(*) as count'))
    .where({ $and: [query.order.where, query.where ?? {}] } as FilterQuery<T>)
    .execute('all', false);
  return Number(row.count);
}

export interface PerParentQuery<T extends { id: string }> extends KeysetQuery<T> {
  /** Many-to-one property pointing at the parent, e.g. a post's `author`. */
  parentProperty: keyof T & string;
  parentIds: readonly string[];
}

/**
 * The same rows for many parents in one statement: a LATERAL subquery runs the
 * single-parent keyset query once per parent id, each an index range scan, so
 * a nested connection costs one query per request rather than one per parent.
 * Parents without rows are absent from the map.
 */
export async function findKeysetRowsPerParent<T extends { id: string }>(em: EntityManager, query: PerParentQuery<T>): Promise<Map<string, T[]>> {
  const byParent = new Map<string, T[]>();
  if (query.parentIds.length === 0) return byParent;
  const foreignKey = columnName(em, query.entity, query.parentProperty);
  const inner = keysetQuery(em, query).andWhere(`e.${foreignKey} = parent.id`);
  const rows: Record<string, unknown>[] = await em
    .getConnection()
    .execute(
      `select p.* from unnest(array[${query.parentIds.map(() => '?').join(', ')}]::uuid[]) as parent(id) cross join lateral (${inner.getFormattedQuery()}) as p`,
      [...query.parentIds],
    );
  const entities = rowsToEntities(em, query.entity, rows);
  rows.forEach((row, index) => {
    const parentId = String(row[foreignKey]);
    byParent.set(parentId, [...(byParent.get(parentId) ?? []), entities[index]]);
  });
  return byParent;
}

/** `countKeysetRows` for many parents in one grouped statement. */
export async function countKeysetRowsPerParent<T extends { id: string }>(
  em: EntityManager,
  query: Omit<PerParentQuery<T>, 'first' | 'after'>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>(query.parentIds.map((id) => [id, 0]));
  if (query.parentIds.length === 0) return counts;
  const foreignKey = columnName(em, query.entity, query.parentProperty);
  const rows: Array<{ parent_id: string; count: string }> = await em
    .createQueryBuilder(query.entity, 'e')
    .select([`e.${foreignKey} as parent_id`, raw('count(*) as count')])
    .where({ $and: [query.order.where, query.where ?? {}, { [query.parentProperty]: { $in: [...query.parentIds] } }] } as FilterQuery<T>)
    .groupBy(`e.${foreignKey}`)
    .execute('all', false);
  for (const row of rows) counts.set(row.parent_id, Number(row.count));
  return counts;
}
