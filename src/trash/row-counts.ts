import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { tableName } from '../db/columns';

/** Which rows a count covers; the same names as a listing's visibility. */
export type CountedRows = 'live' | 'trashed' | 'all';

/** Where a table's own total is kept in `row_counts` (the counters of a table with no parent). */
export const TABLE_TOTAL_ID = '00000000-0000-0000-0000-000000000000';

const countsPerRequest = new WeakMap<EntityManager, Map<string, Promise<number>>>();

const sumOf: Record<CountedRows, string> = {
  live: 'sum("live")',
  trashed: 'sum("trashed")',
  all: 'sum("live" + "trashed")',
};

/**
 * Exact counts read from the counters the database's triggers keep (see the
 * RowCounts migration): a handful of rows instead of a scan, and always in
 * step with the rows, since both change in the same transaction.
 */
export class RowCounts {
  constructor(private readonly em: EntityManager) {}

  /**
   * Rows of the entity's table, or of one parent's children when `parentId`
   * is given. Asked once per request (each request has its own EntityManager
   * fork): aliases of one listing share the answer.
   */
  count(entity: EntityClass<object>, rows: CountedRows, parentId: string = TABLE_TOTAL_ID): Promise<number> {
    let known = countsPerRequest.get(this.em);
    if (!known) countsPerRequest.set(this.em, (known = new Map()));
    const key = `${this.tableOf(entity)}:${rows}:${parentId}`;
    let count = known.get(key);
    if (!count) {
      count = this.em
        .getConnection()
        .execute<Array<{ count: string | null }>>(`select ${sumOf[rows]} as count from "row_counts" where "table_name" = ? and "parent_id" = ?`, [
          this.tableOf(entity),
          parentId,
        ])
        .then((result) => Number(result[0]?.count ?? 0));
      known.set(key, count);
    }
    return count;
  }

  /** `count` for many parents in one statement; a parent with no rows counts 0. */
  async countPerParent(entity: EntityClass<object>, rows: CountedRows, parentIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(parentIds.map((id) => [id, 0]));
    if (parentIds.length === 0) return counts;
    const result: Array<{ parent_id: string; count: string }> = await this.em
      .getConnection()
      .execute(
        `select "parent_id", ${sumOf[rows]} as count from "row_counts" where "table_name" = ? and "parent_id" in (${parentIds.map(() => '?').join(', ')}) group by "parent_id"`,
        [this.tableOf(entity), ...parentIds],
      );
    for (const row of result) counts.set(row.parent_id, Number(row.count));
    return counts;
  }

  private tableOf(entity: EntityClass<object>): string {
    return tableName(this.em, entity);
  }
}
