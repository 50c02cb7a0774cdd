import type { ReadExecutor } from '../db/compiled/read-executor';
import { readKeysetCount, readKeysetRows, readKeysetRowsPerParent } from '../db/compiled/keyset-reads';
import { isUuid } from '../db/ids';
import type { KeysetOrder, KeysetQuery, PerParentQuery } from '../db/keyset';
import type { Edge, Page } from './connection';
import { decodeCursor, encodeCursor } from './cursor';

/** A keyset query as a client asks for it: `after` is the opaque cursor of the previous page. */
export interface KeysetPageRequest<T extends { id: string }> extends Omit<KeysetQuery<T>, 'after'> {
  after?: string | null;
}

export interface PerParentPageRequest<T extends { id: string }> extends Omit<PerParentQuery<T>, 'after'> {
  after?: string | null;
}

/** A page and its total, counted only when asked for. */
export interface PageWithTotal<T> {
  page: Page<T>;
  countTotal: () => Promise<number>;
}

/**
 * An edge whose cursor is encoded when it is read. Most clients select
 * `nodes` and `pageInfo { endCursor }`, so encoding a cursor for every row of
 * every page (JSON, base64) was work thrown away: it was the largest single
 * cost of a 50-row page in the profile.
 */
class KeysetEdge<T extends { id: string }> implements Edge<T> {
  constructor(
    readonly node: T,
    private readonly order: KeysetOrder<T>,
  ) {}

  get cursor(): string {
    return encodeCursor(this.order, { sortValue: this.node[this.order.sortProperty] as Date, id: this.node.id });
  }
}

/** Up to `first + 1` rows as a page with cursors. */
export function toPage<T extends { id: string }>(rows: T[], request: Pick<KeysetPageRequest<T>, 'first' | 'order'>): Page<T> {
  const edges = rows.slice(0, request.first).map((node) => new KeysetEdge(node, request.order));
  return { edges, hasNextPage: rows.length > request.first };
}

/** The request's cursor; BAD_USER_INPUT when it is not one of this listing's. */
export function decodeAfter<T extends { id: string }>(request: Pick<KeysetPageRequest<T>, 'after' | 'order'>) {
  return request.after != null ? decodeCursor(request.after, request.order) : null;
}

/** One page, newest first, by keyset (see `findKeysetRows`); a cursor from another listing is BAD_USER_INPUT. */
export async function findKeysetPage<T extends { id: string }>(reads: ReadExecutor, request: KeysetPageRequest<T>): Promise<Page<T>> {
  const after = decodeAfter(request);
  return toPage(await readKeysetRows(reads, { ...request, after }), request);
}

/** The same page for many parents in one statement (see `findKeysetRowsPerParent`). */
export async function findKeysetPagesPerParent<T extends { id: string }>(
  reads: ReadExecutor,
  request: PerParentPageRequest<T>,
): Promise<Map<string, Page<T>>> {
  const pages = new Map<string, Page<T>>(request.parentIds.map((id) => [id, { edges: [], hasNextPage: false }]));
  if (request.parentIds.length === 0) return pages;
  const rows = await readKeysetRowsPerParent(reads, { ...request, after: decodeAfter(request) });
  for (const [parentId, parentRows] of rows) pages.set(parentId, toPage(parentRows, request));
  return pages;
}

/**
 * A page and its total. `filteredById` is an id the request's `where` filters
 * on (an author, an audited record): when it is not a UUID no record has it,
 * so the listing is empty without asking the database, which would reject the
 * uuid cast.
 */
export async function listKeysetPage<T extends { id: string }>(
  reads: ReadExecutor,
  request: KeysetPageRequest<T>,
  filteredById?: string | null,
): Promise<PageWithTotal<T>> {
  if (filteredById != null && !isUuid(filteredById)) {
    return { page: { edges: [], hasNextPage: false }, countTotal: async () => 0 };
  }
  const page = await findKeysetPage(reads, request);
  return { page, countTotal: () => readKeysetCount(reads, request) };
}
