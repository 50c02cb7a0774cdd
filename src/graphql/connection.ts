import type { GraphQLUnionType } from 'graphql';
import { Max, Min } from 'class-validator';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';

export const MAX_PAGE_SIZE = 100;

/**
 * Whether `first` is a page size PageArgs' validation accepts: for paths that
 * read arguments themselves and leave invalid ones to the resolver to refuse.
 */
export function isPageSize(first: unknown): first is number {
  return typeof first === 'number' && Number.isInteger(first) && first >= 1 && first <= MAX_PAGE_SIZE;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: `Page size, 1 to ${MAX_PAGE_SIZE}.` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;

  @Field(() => String, { nullable: true, description: 'The `endCursor` of the previous page.' })
  after?: string | null;
}

/** Read from the page when asked: `endCursor` is encoded only if selected (a nested connection has one per parent row). */
@ObjectType({ simpleResolvers: true })
export class PageInfo {
  constructor(private readonly page: Page<unknown>) {}

  @Field(() => Boolean)
  get hasNextPage(): boolean {
    return this.page.hasNextPage;
  }

  @Field(() => String, { nullable: true })
  get endCursor(): string | null {
    return this.page.edges.at(-1)?.cursor ?? null;
  }
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
    connection.pageInfo = new PageInfo(page);
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
