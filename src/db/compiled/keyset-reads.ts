import type { EntityClass, EntityMetadata, FilterQuery } from '@mikro-orm/core';
import type { Cursor, KeysetQuery, PerParentQuery } from '../keyset';
import type { ReadExecutor } from './read-executor';
import {
  columnOf,
  columnTypeOf,
  compiledStatement,
  conditionShape,
  type ConditionShape,
  conditionSql,
  filterCondition,
  metadataOf,
  Parameters,
  plannedFor,
  quote,
  rowToEntity,
  selectList,
} from './read-sql';

/**
 * The keyset reads of `db/keyset.ts`, compiled: the same rows in the same
 * order, read by named prepared statements (see read-sql.ts and
 * read-executor.ts). `test/compiled-reads.test.ts` holds them to the ORM path.
 */

/** A listing's conditions: its order's and its own. */
export function whereOf<T>(query: { order: { where: FilterQuery<T> }; where?: FilterQuery<T> }): FilterQuery<object> {
  return { $and: [query.order.where, query.where ?? {}] } as FilterQuery<object>;
}

/** `select count(*) from <table> as <alias> [where <condition> and <extra>]` (a column named `count`): what the listing holds over all pages. */
export function countSql(meta: EntityMetadata, alias: string, query: Omit<KeysetQuery<{ id: string }>, 'first' | 'after'>, params: Parameters, extra: string[] = []): string {
  const conditions = [conditionSql(meta, whereOf(query), alias, params), ...extra].filter((condition) => condition !== '');
  return `select count(*) from ${quote(meta.tableName)} as ${alias}${conditions.length > 0 ? ` where ${conditions.join(' and ')}` : ''}`;
}

/**
 * A page's row limit, written into the statement's text rather than bound:
 * `first + 1` (the extra row tells whether a next page exists) unless
 * `extraRow` is false. Bound as a parameter, PostgreSQL would plan the
 * statement at every run: a generic plan costed for an unknown limit (a
 * tenth of the table) never beats the plan made for the actual one, so the
 * prepared statement would be re-planned each time, which cost more than
 * executing it. With the number in the text, the plan is made once per
 * connection. Page sizes are few and bounded (`MAX_PAGE_SIZE`).
 */
export function pageLimit(first: number, extraRow = true): number {
  if (!Number.isSafeInteger(first) || first < 0) throw new Error(`Invalid page size ${first}`);
  return extraRow ? first + 1 : first;
}

/** `where <condition> [and (sort, id) < (cursor)] order by sort desc, id desc limit n`, for alias `alias`. */
export function pageSql(meta: EntityMetadata, alias: string, query: KeysetQuery<{ id: string }>, params: Parameters, extra: string[] = [], extraRow = true): string {
  const sort = `${alias}.${quote(columnOf(meta, query.order.sortProperty))}`;
  const id = `${alias}.${quote(columnOf(meta, 'id'))}`;
  const conditions = [conditionSql(meta, whereOf(query), alias, params), ...extra];
  if (query.after != null) {
    // A row comparison walks the (sort, id) index from the cursor on.
    conditions.push(`(${sort}, ${id}) < (${params.take()}::${columnTypeOf(meta, query.order.sortProperty)}, ${params.take()}::uuid)`);
  }
  const where = conditions.filter((condition) => condition !== '');
  return `from ${quote(meta.tableName)} as ${alias}${where.length > 0 ? ` where ${where.join(' and ')}` : ''} order by ${sort} desc, ${id} desc limit ${pageLimit(query.first, extraRow)}`;
}

/**
 * A page's statement key (its shape without values, its limit included) and
 * the values `pageSql` binds, in its order, after any given in `values`: one
 * walk of its conditions.
 */
export function pageShape(query: KeysetQuery<{ id: string }>, values: unknown[] = [], extraRow = true): ConditionShape {
  const condition = conditionShape(whereOf(query), values);
  if (query.after != null) values.push(cursorValue(query.after), query.after.id);
  const position = query.after != null ? 'after' : 'first';
  return { key: `${query.entity.name}:${query.order.name}:${condition.key}:${position}:${pageLimit(query.first, extraRow)}`, values, patterns: condition.patterns };
}

const cursorValue = (cursor: Cursor) => cursor.sortValue.toISOString();

/** `findKeysetRows`, compiled: up to `first + 1` rows, newest first. */
export async function readKeysetRows<T extends { id: string }>(reads: ReadExecutor, query: KeysetQuery<T>): Promise<T[]> {
  const meta = metadataOf(reads.em.getMetadata(), query.entity);
  const generic = query as unknown as KeysetQuery<{ id: string }>;
  const page = pageShape(generic);
  const statement = compiledStatement(`page:${page.key}`, () => `select ${selectList(meta, 'e')} ${pageSql(meta, 'e', generic, new Parameters())}`);
  const rows = await reads.rows<Record<string, unknown>>(plannedFor(statement, page), page.values);
  return rows.map((row) => rowToEntity(meta, query.entity, row));
}

/** `countKeysetRows`, compiled: what the same query lists across all pages. */
export async function readKeysetCount<T extends { id: string }>(reads: ReadExecutor, query: Omit<KeysetQuery<T>, 'first' | 'after'>): Promise<number> {
  const meta = metadataOf(reads.em.getMetadata(), query.entity);
  const shape = conditionShape(whereOf(query));
  const statement = compiledStatement(`count:${query.entity.name}:${shape.key}`, () =>
    countSql(meta, 'e', query as unknown as KeysetQuery<{ id: string }>, new Parameters()),
  );
  return reads.once(statement, shape.values, async () => {
    const [row] = await reads.rows<{ count: string }>(plannedFor(statement, shape), shape.values);
    return Number(row.count);
  });
}

/** `findKeysetRowsPerParent`, compiled: every parent's page in one statement, the parent ids bound as one array. */
export async function readKeysetRowsPerParent<T extends { id: string }>(reads: ReadExecutor, query: PerParentQuery<T>): Promise<Map<string, T[]>> {
  const byParent = new Map<string, T[]>();
  if (query.parentIds.length === 0) return byParent;
  const meta = metadataOf(reads.em.getMetadata(), query.entity);
  const generic = query as unknown as KeysetQuery<{ id: string }>;
  const shape = pageShape(generic, [query.parentIds]);
  const statement = compiledStatement(`pages:${query.parentProperty}:${shape.key}`, () => {
    const params = new Parameters();
    const parentIds = params.take();
    const page = pageSql(meta, 'e', generic, params, [`e.${quote(columnOf(meta, query.parentProperty))} = parent.id`]);
    return `select p.* from unnest(${parentIds}::uuid[]) as parent(id) cross join lateral (select ${selectList(meta, 'e')} ${page}) as p`;
  });
  const rows = await reads.rows<Record<string, unknown>>(plannedFor(statement, shape), shape.values);
  for (const row of rows) {
    const entity = rowToEntity(meta, query.entity, row);
    const parentId = String(row[query.parentProperty]);
    const list = byParent.get(parentId);
    if (list) list.push(entity);
    else byParent.set(parentId, [entity]);
  }
  return byParent;
}

/** `countKeysetRowsPerParent`, compiled: one grouped statement; a parent with no rows counts 0. */
export async function readKeysetCountPerParent<T extends { id: string }>(
  reads: ReadExecutor,
  query: Omit<PerParentQuery<T>, 'first' | 'after'>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>(query.parentIds.map((id) => [id, 0]));
  if (query.parentIds.length === 0) return counts;
  const meta = metadataOf(reads.em.getMetadata(), query.entity);
  const shape = conditionShape(whereOf(query), [query.parentIds]);
  const statement = compiledStatement(`counts:${query.entity.name}:${query.parentProperty}:${shape.key}`, () => {
    const params = new Parameters();
    const foreignKey = `e.${quote(columnOf(meta, query.parentProperty))}`;
    const conditions = [`${foreignKey} = any(${params.take()}::uuid[])`, conditionSql(meta, whereOf(query), 'e', params)].filter(Boolean);
    return `select ${foreignKey} as "parentId", count(*) as "count" from ${quote(meta.tableName)} as e where ${conditions.join(' and ')} group by ${foreignKey}`;
  });
  for (const row of await reads.rows<{ parentId: string; count: string }>(plannedFor(statement, shape), shape.values)) counts.set(row.parentId, Number(row.count));
  return counts;
}

/** Records by id, in no particular order; without `apply`, the entity's filter (e.g. `softDelete`) applies as the ORM would apply it. */
export async function readByIds<T extends object>(
  reads: ReadExecutor,
  entity: EntityClass<T>,
  ids: readonly string[],
  filter: { name: string; apply: boolean },
): Promise<T[]> {
  const meta = metadataOf(reads.em.getMetadata(), entity);
  const statement = compiledStatement(`byIds:${entity.name}:${filter.apply ? filter.name : ''}`, () => {
    const params = new Parameters();
    const conditions = [`e.${quote(columnOf(meta, 'id'))} = any(${params.take()}::uuid[])`];
    if (filter.apply) conditions.push(conditionSql(meta, filterCondition(meta, filter.name), 'e', params));
    return `select ${selectList(meta, 'e')} from ${quote(meta.tableName)} as e where ${conditions.filter(Boolean).join(' and ')}`;
  });
  const values: unknown[] = [ids];
  if (filter.apply) conditionShape(filterCondition(meta, filter.name), values);
  const rows = await reads.rows<Record<string, unknown>>(statement, values);
  return rows.map((row) => rowToEntity(meta, entity, row));
}

/** A nested page read with its parents: each parent's children in their own keyset order. */
export interface ChildPageQuery<C extends { id: string }> extends Omit<PerParentQuery<C>, 'parentIds'> {
  /** The children's total for one parent, as SQL over the parent's id expression (e.g. a maintained counter); none when omitted. */
  total?: { key: string; sql: (parentId: string) => string };
}

export interface ParentWithChildren<T, C> {
  parent: T;
  /** Up to `first + 1` children, like `readKeysetRowsPerParent`. */
  children: C[];
  childTotal?: number;
}

/**
 * A page of parents and, per parent, a page of its children, in one
 * statement: a LATERAL-style correlated subquery per parent row aggregates
 * its children to JSON in the database (each an index range scan), and the
 * children's total, when asked, is read in the same statement.
 */
export async function readKeysetRowsWithChildren<T extends { id: string }, C extends { id: string }>(
  reads: ReadExecutor,
  parentQuery: KeysetQuery<T>,
  childQuery: ChildPageQuery<C>,
): Promise<Array<ParentWithChildren<T, C>>> {
  const metadata = reads.em.getMetadata();
  const parentMeta = metadataOf(metadata, parentQuery.entity);
  const childMeta = metadataOf(metadata, childQuery.entity);
  const parent = parentQuery as unknown as KeysetQuery<{ id: string }>;
  const child = { ...childQuery, after: childQuery.after ?? null } as unknown as KeysetQuery<{ id: string }>;
  // Bound in the statement's order: the children's page (inside the select list) before the parents'.
  const childShape = pageShape(child);
  const parentShape = pageShape(parent);
  const key = `nested:${parentShape.key}|${childQuery.parentProperty}:${childShape.key}|${childQuery.total?.key ?? ''}`;
  const statement = compiledStatement(key, () => {
    const params = new Parameters();
    const parentId = `e.${quote(columnOf(parentMeta, 'id'))}`;
    const foreignKey = `c0.${quote(columnOf(childMeta, childQuery.parentProperty))}`;
    const childPage = pageSql(childMeta, 'c0', child, params, [`${foreignKey} = ${parentId}`]);
    const childOrder = `c.${quote(childQuery.order.sortProperty)} desc, c."id" desc`;
    const children = `(select coalesce(json_agg(c order by ${childOrder}), '[]'::json) from (select ${selectList(childMeta, 'c0')} ${childPage}) as c) as "__children"`;
    const total = childQuery.total ? `, (${childQuery.total.sql(parentId)}) as "__childTotal"` : '';
    return `select ${selectList(parentMeta, 'e')}, ${children}${total} ${pageSql(parentMeta, 'e', parent, params)}`;
  });
  const rows = await reads.rows<Record<string, unknown>>(plannedFor(statement, childShape, parentShape), [...childShape.values, ...parentShape.values]);
  return rows.map((row) => ({
    parent: rowToEntity(parentMeta, parentQuery.entity, row),
    children: (row.__children as Array<Record<string, unknown>>).map((item) => rowToEntity(childMeta, childQuery.entity, item)),
    ...(childQuery.total ? { childTotal: Number(row.__childTotal ?? 0) } : {}),
  }));
}
