import type { EntityClass } from '@mikro-orm/core';
import DataLoader from 'dataloader';
import type { FilterQuery } from '@mikro-orm/core';
import { readKeysetCountPerParent } from '../db/compiled/keyset-reads';
import type { ReadExecutor } from '../db/compiled/read-executor';
import type { KeysetOrder } from '../db/keyset';
import type { Page, PageArgs } from '../graphql/connection';
import { findKeysetPagesPerParent } from '../graphql/keyset-page';
import { RowCounts, type CountedRows } from './row-counts';
import type { TrashableEntity } from './trashable.entity';

/** A listing's order and the principal's restriction, from `TrashService.listing`. */
export interface Listing<T> {
  order: KeysetOrder<T>;
  where: FilterQuery<T>;
  /** Set when nothing restricts the listing: its counts come from the maintained row counts. */
  counted?: CountedRows;
}

/**
 * Batches a nested connection (e.g. `User.posts`) over every parent in one
 * response: one statement for all the pages and one for all the counts,
 * however many parents the outer page holds. Lives for one request. A parent
 * page that read its children in its own statement primes it (`prime`), and
 * then the nested fields run no statement at all.
 */
export class ChildConnectionLoader<T extends TrashableEntity> {
  private readonly pageLoaders = new Map<string, DataLoader<string, Page<T>>>();
  private readonly countLoaders = new Map<string, DataLoader<string, number>>();

  constructor(
    private readonly reads: ReadExecutor,
    private readonly entity: EntityClass<T>,
    private readonly parentProperty: keyof T & string,
  ) {}

  page(parentId: string, listing: Listing<T>, args: PageArgs): Promise<Page<T>> {
    return this.pageLoader(listing, args).load(parentId);
  }

  count(parentId: string, listing: Listing<T>): Promise<number> {
    return this.countLoader(listing).load(parentId);
  }

  /** Records a page (and its count) read elsewhere, for the same listing and arguments. */
  prime(parentId: string, listing: Listing<T>, args: PageArgs, page: Page<T>, count?: number): void {
    this.pageLoader(listing, args).prime(parentId, page);
    if (count !== undefined) this.countLoader(listing).prime(parentId, count);
  }

  private pageLoader(listing: Listing<T>, args: PageArgs): DataLoader<string, Page<T>> {
    // Parents resolved for the same field share its arguments, hence one loader per argument set.
    const key = JSON.stringify([args.first, args.after ?? null, listing.order.name, listing.where]);
    let loader = this.pageLoaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        const pages = await findKeysetPagesPerParent(this.reads, {
          entity: this.entity,
          parentProperty: this.parentProperty,
          parentIds,
          first: args.first,
          after: args.after,
          order: listing.order,
          where: listing.where,
        });
        return parentIds.map((id) => pages.get(id)!);
      });
      this.pageLoaders.set(key, loader);
    }
    return loader;
  }

  private countLoader(listing: Listing<T>): DataLoader<string, number> {
    const key = JSON.stringify([listing.order.name, listing.where]);
    let loader = this.countLoaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        if (listing.counted) {
          const kept = await new RowCounts(this.reads).countPerParent(this.entity, listing.counted, parentIds);
          return parentIds.map((id) => kept.get(id) ?? 0);
        }
        const counts = await readKeysetCountPerParent(this.reads, {
          entity: this.entity,
          parentProperty: this.parentProperty,
          parentIds,
          order: listing.order,
          where: listing.where,
        });
        return parentIds.map((id) => counts.get(id) ?? 0);
      });
      this.countLoaders.set(key, loader);
    }
    return loader;
  }
}
