import type { EntityManager } from '@mikro-orm/postgresql';
import type { EntityClass, FilterQuery } from '@mikro-orm/core';
import { Max, Min } from 'class-validator';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { BadUserInputError } from '../errors';
import { columnName } from './columns';
import { isUuid } from './ids';
import { SOFT_DELETE_FILTER, type TrashableEntity } from './trashable.entity';

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

@ArgsType()
export class TrashFilterArgs extends PageArgs {
  @Field(() => Boolean, { defaultValue: false, description: 'List trashed records along with live ones.' })
  includeDeleted!: boolean;

  @Field(() => Boolean, {
    defaultValue: false,
    description: 'List only trashed records, newest deletion first. Takes precedence over includeDeleted.',
  })
  onlyDeleted!: boolean;
}

/** Which rows a listing shows; each has its own order and an index serving it. */
export type TrashVisibility = 'live' | 'all' | 'trashed';

export function visibilityOf(args: { includeDeleted: boolean; onlyDeleted: boolean }): TrashVisibility {
  if (args.onlyDeleted) return 'trashed';
  return args.includeDeleted ? 'all' : 'live';
}

@ObjectType()
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

/** Shape shared by every `...Connection` type; `totalCount` runs its query only when selected. */
export abstract class Connection<T> {
  edges!: Edge<T>[];
  pageInfo!: PageInfo;
  protected countTotal!: () => Promise<number>;

  static of<T, C extends Connection<T>>(this: new () => C, edges: Edge<T>[], hasNextPage: boolean, countTotal: () => Promise<number>): C {
    const connection = new this();
    connection.edges = edges;
    connection.pageInfo = { hasNextPage, endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null };
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
export function connectionTypeFor<T extends object>(nodeType: ClassType<T> | (() => unknown), name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType implements Edge<T> {
    @Field(() => String)
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
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

interface KeysetOrder {
  /** Property that orders the listing (newest first), with `id` as the tie-breaker. */
  sortProperty: 'createdAt' | 'deletedAt';
  where: FilterQuery<TrashableEntity>;
}

const orders: Record<TrashVisibility, KeysetOrder> = {
  live: { sortProperty: 'createdAt', where: { deletedAt: null } },
  all: { sortProperty: 'createdAt', where: {} },
  trashed: { sortProperty: 'deletedAt', where: { deletedAt: { $ne: null } } },
};

interface Cursor {
  visibility: TrashVisibility;
  sortValue: Date;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.visibility, cursor.sortValue.toISOString(), cursor.id])).toString('base64url');
}

function decodeCursor(raw: string, visibility: TrashVisibility): Cursor {
  const invalid = () => new BadUserInputError('Invalid after: not a cursor returned by this listing', 'after');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [cursorVisibility, sortValue, id] = parsed as unknown[];
  const at = typeof sortValue === 'string' ? new Date(sortValue) : new Date(NaN);
  if (cursorVisibility !== visibility || Number.isNaN(at.getTime()) || typeof id !== 'string' || !isUuid(id)) {
    throw invalid();
  }
  return { visibility, sortValue: at, id };
}

export interface KeysetPageRequest<T extends TrashableEntity> {
  entity: EntityClass<T>;
  first: number;
  after?: string | null;
  visibility: TrashVisibility;
  /** Further conditions (for example a parent's id); ANDed with the visibility's own. */
  where?: FilterQuery<T>;
}

/**
 * One page of a trashable entity, newest first, by keyset (never OFFSET): the
 * cost of a page does not depend on its depth, and each visibility's order is
 * served by its own (partial) index.
 */
export async function findKeysetPage<T extends TrashableEntity>(
  em: EntityManager,
  request: KeysetPageRequest<T>,
): Promise<{ edges: Edge<T>[]; hasNextPage: boolean; countTotal: () => Promise<number> }> {
  const { sortProperty, where: visibilityWhere } = orders[request.visibility];
  const where = { $and: [visibilityWhere, request.where ?? {}] } as FilterQuery<T>;
  const sortColumn = columnName(em, request.entity, sortProperty);

  const qb = em
    .createQueryBuilder(request.entity, 'e')
    .select('*')
    .where(where)
    .orderBy({ [sortProperty]: 'desc', id: 'desc' } as never)
    .limit(request.first + 1);
  if (request.after != null) {
    const cursor = decodeCursor(request.after, request.visibility);
    // A row comparison walks the (sort, id) index from the cursor on.
    qb.andWhere(`(e.${sortColumn}, e.id) < (?, ?)`, [cursor.sortValue, cursor.id]);
  }
  const rows = await qb.getResultList();
  const page = rows.slice(0, request.first);
  const edges = page.map((node) => ({
    node,
    cursor: encodeCursor({ visibility: request.visibility, sortValue: node[sortProperty] as Date, id: node.id }),
  }));
  const countTotal = () => em.count(request.entity, where, { filters: { [SOFT_DELETE_FILTER]: false } });
  return { edges, hasNextPage: rows.length > request.first, countTotal };
}
