import { raw, type EntityClass, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { GraphQLUnionType } from 'graphql';
import { Max, Min } from 'class-validator';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { BadUserInputError } from '../errors';
import { columnName } from './columns';
import { isUuid } from './ids';
import { rowsToEntities } from './rows';
import { isStorableDate } from '../validation/storable-input';

export const MAX_PAGE_SIZE = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: `Page size, 1 to ${MAX_PAGE_SIZE}.` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string | null;
}

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Page<T> {
  edges: Edge<T>[];
  hasNextPage: boolean;
}

/** Shape shared by every `...Connection` type; `totalCount` runs its query only when selected. */
export abstract class Connection<T> {
  edges!: Edge<T>[];
  pageInfo!: PageInfo;
  protected countTotal!: () => Promise<number>;

  static of<T, C extends Connection<T>>(this: new () => C, page: Page<T>, countTotal: () => Promise<number>): C {
    const connection = new this();
    connection.edges = page.edges;
    connection.pageInfo = { hasNextPage: page.hasNextPage, endCursor: page.edges.at(-1)?.cursor ?? null };
    connection.countTotal = countTotal;
    return connection;
  }

  get nodes(): T[] {
    return this.edges.map((edge) => edge.node);
  }

  totalCount(): Promise<number> {
    return this.countTotal();
  }
}

/** Declares `<Name>Edge` and `<Name>Connection` GraphQL types for one node type. */
export function connectionTypeFor<T extends object>(nodeType: ClassType<T> | GraphQLUnionType, name: string) {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class EdgeType implements Edge<T> {
    @Field(() => String)
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class ConnectionType extends Connection<T> {
    @Field(() => [EdgeType])
    declare edges: EdgeType[];

    @Field(() => [nodeType])
    override get nodes(): T[] {
      return super.nodes;
    }

    @Field(() => PageInfo)
    declare pageInfo: PageInfo;

    @Field(() => Int, { description: 'How many records the same arguments list across all pages.' })
    override totalCount(): Promise<number> {
      return super.totalCount();
    }
  }
  return ConnectionType;
}

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

export interface Cursor {
  sortValue: Date;
  id: string;
}

export function encodeCursor(order: { name: string }, cursor: Cursor): string {
  return Buffer.from(JSON.stringify([order.name, cursor.sortValue.toISOString(), cursor.id])).toString('base64url');
}

export function decodeCursor(raw: string, order: { name: string }): Cursor {
  const invalid = () => new BadUserInputError('Invalid after: not a cursor returned by this listing', 'after');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [name, sortValue, id] = parsed as unknown[];
  const at = typeof sortValue === 'string' ? new Date(sortValue) : new Date(NaN);
  if (name !== order.name || !isStorableDate(at) || typeof id !== 'string' || !isUuid(id)) throw invalid();
  return { sortValue: at, id };
}

export interface KeysetPageRequest<T extends { id: string }> {
  entity: EntityClass<T>;
  first: number;
  after?: string | null;
  order: KeysetOrder<T>;
  /** Further conditions (for example a parent's id); ANDed with the order's own. */
  where?: FilterQuery<T>;
}

function keysetQuery<T extends { id: string }>(em: EntityManager, request: KeysetPageRequest<T>) {
  const { order } = request;
  const qb = em
    .createQueryBuilder(request.entity, 'e')
    .select('*')
    .where({ $and: [order.where, request.where ?? {}] } as FilterQuery<T>)
    .orderBy({ [order.sortProperty]: 'desc', id: 'desc' } as never)
    .limit(request.first + 1);
  if (request.after != null) {
    const cursor = decodeCursor(request.after, order);
    // A row comparison walks the (sort, id) index from the cursor on.
    qb.andWhere(`(e.${columnName(em, request.entity, order.sortProperty)}, e.id) < (?, ?)`, [cursor.sortValue, cursor.id]);
  }
  return qb;
}

function toPage<T extends { id: string }>(rows: T[], request: KeysetPageRequest<T>): Page<T> {
  const edges = rows.slice(0, request.first).map((node) => ({
    node,
    cursor: encodeCursor(request.order, { sortValue: node[request.order.sortProperty] as Date, id: node.id }),
  }));
  return { edges, hasNextPage: rows.length > request.first };
}

/**
 * One page, newest first, by keyset (never OFFSET): the cost of a page does
 * not depend on its depth, nor on how many rows other orders would list.
 */
export async function findKeysetPage<T extends { id: string }>(em: EntityManager, request: KeysetPageRequest<T>): Promise<Page<T>> {
  const rows = await keysetQuery(em, request).execute<Array<Record<string, unknown>>>('all', false);
  return toPage(rowsToEntities(em, request.entity, rows), request);
}

/** Counts already asked for, per request (each request has its own EntityManager fork). */
const countsPerRequest = new WeakMap<EntityManager, Map<string, Promise<number>>>();

/**
 * What the same request lists across all pages. A COUNT reads every row it
 * counts, so identical counts within one request (aliases of one listing)
 * run once and share the result.
 */
export function countKeysetRows<T extends { id: string }>(em: EntityManager, request: Omit<KeysetPageRequest<T>, 'first' | 'after'>): Promise<number> {
  const where = { $and: [request.order.where, request.where ?? {}] } as FilterQuery<T>;
  let counts = countsPerRequest.get(em);
  if (!counts) countsPerRequest.set(em, (counts = new Map()));
  const key = `${request.entity.name}:${JSON.stringify(where)}`;
  let count = counts.get(key);
  if (!count) counts.set(key, (count = em.count(request.entity, where, { filters: false })));
  return count;
}

export interface PerParentRequest<T extends { id: string }> extends KeysetPageRequest<T> {
  /** Many-to-one property pointing at the parent, e.g. a post's `author`. */
  parentProperty: keyof T & string;
  parentIds: readonly string[];
}

/**
 * The same page for many parents in one statement: a LATERAL subquery runs the
 * single-parent keyset query once per parent id, each an index range scan, so
 * a nested connection costs one query per request rather than one per parent.
 */
export async function findKeysetPagesPerParent<T extends { id: string }>(
  em: EntityManager,
  request: PerParentRequest<T>,
): Promise<Map<string, Page<T>>> {
  const pages = new Map<string, Page<T>>(request.parentIds.map((id) => [id, { edges: [], hasNextPage: false }]));
  if (request.parentIds.length === 0) return pages;
  const foreignKey = columnName(em, request.entity, request.parentProperty);
  const inner = keysetQuery(em, request).andWhere(`e.${foreignKey} = parent.id`);
  const rows: Record<string, unknown>[] = await em
    .getConnection()
    .execute(
      `select p.* from unnest(array[${request.parentIds.map(() => '?').join(', ')}]::uuid[]) as parent(id) cross join lateral (${inner.getFormattedQuery()}) as p`,
      [...request.parentIds],
    );
  const byParent = new Map<string, T[]>();
  const entities = rowsToEntities(em, request.entity, rows);
  rows.forEach((row, index) => {
    const parentId = String(row[foreignKey]);
    byParent.set(parentId, [...(byParent.get(parentId) ?? []), entities[index]]);
  });
  for (const [parentId, parentRows] of byParent) pages.set(parentId, toPage(parentRows, request));
  return pages;
}

/** `countKeysetRows` for many parents in one grouped statement. */
export async function countKeysetRowsPerParent<T extends { id: string }>(
  em: EntityManager,
  request: Omit<PerParentRequest<T>, 'first' | 'after'>,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>(request.parentIds.map((id) => [id, 0]));
  if (request.parentIds.length === 0) return counts;
  const foreignKey = columnName(em, request.entity, request.parentProperty);
  const rows: Array<{ parent_id: string; count: string }> = await em
    .createQueryBuilder(request.entity, 'e')
    .select([`e.${foreignKey} as parent_id`, raw('count(*) as count')])
    .where({ $and: [request.order.where, request.where ?? {}, { [request.parentProperty]: { $in: [...request.parentIds] } }] } as FilterQuery<T>)
    .groupBy(`e.${foreignKey}`)
    .execute('all', false);
  for (const row of rows) counts.set(row.parent_id, Number(row.count));
  return counts;
}
