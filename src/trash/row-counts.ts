import type { EntityClass } from '@mikro-orm/core';
import { tableName } from '../db/columns';
import { compiledStatement, literal } from '../db/compiled/read-sql';
import type { RenderedTotal } from '../db/compiled/json-reads';
import type { ReadExecutor } from '../db/compiled/read-executor';

/** Which rows a count covers; the same names as a listing's visibility. */
export type CountedRows = 'live' | 'trashed' | 'all';

/** Where a table's own total is kept in `row_counts` (the counters of a table with no parent). */
export const TABLE_TOTAL_ID = '00000000-0000-0000-0000-000000000000';

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
  constructor(private readonly reads: ReadExecutor) {}

  /**
   * Rows of the entity's table, or of one parent's children when `parentId`
   * is given. Asked once per request: aliases of one listing share the answer.
   */
  count(entity: EntityClass<object>, rows: CountedRows, parentId: string = TABLE_TOTAL_ID): Promise<number> {
    const table = this.tableOf(entity);
    const statement = compiledStatement(`rowCount:${table}:${rows}`, () => this.countSql(entity, rows, '$1::uuid'));
    return this.reads.once(statement, [parentId], async () => {
      const [result] = await this.reads.rows<{ count: string | null }>(statement, [parentId]);
      return Number(result?.count ?? 0);
    });
  }

  /** `count` for many parents in one statement; a parent with no rows counts 0. */
  async countPerParent(entity: EntityClass<object>, rows: CountedRows, parentIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(parentIds.map((id) => [id, 0]));
    if (parentIds.length === 0) return counts;
    const table = this.tableOf(entity);
    const statement = compiledStatement(
      `rowCounts:${table}:${rows}`,
      () => `select "parent_id", ${sumOf[rows]} as count from "row_counts" where "table_name" = ${literal(table)} and "parent_id" = any($1::uuid[]) group by "parent_id"`,
    );
    for (const row of await this.reads.rows<{ parent_id: string; count: string }>(statement, [parentIds])) counts.set(row.parent_id, Number(row.count));
    return counts;
  }

  /** The count as a scalar subquery over a parent id expression, for statements that read a page and its counts together. */
  countSql(entity: EntityClass<object>, rows: CountedRows, parentId: string): string {
    return `select coalesce(${sumOf[rows]}, 0) as count from "row_counts" where "table_name" = ${literal(this.tableOf(entity))} and "parent_id" = ${parentId}`;
  }

  /**
   * The count for a statement the database renders (graphql/rendered-reads.ts):
   * of the enclosing record's children when nested, else of the given parent
   * (one author's posts), else of the whole table.
   */
  rendered(entity: EntityClass<object>, rows: CountedRows, parent?: string): RenderedTotal {
    return {
      key: `rowCounts:${this.tableOf(entity)}:${rows}:${parent ?? ''}`,
      sql: (parentId, bind) => this.countSql(entity, rows, parentId ?? (parent === undefined ? `${literal(TABLE_TOTAL_ID)}::uuid` : `${bind(parent)}::uuid`)),
    };
  }

  private tableOf(entity: EntityClass<object>): string {
    return tableName(this.reads.em, entity);
  }
}
