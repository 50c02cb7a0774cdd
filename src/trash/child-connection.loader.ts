import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { FilterQuery } from '@mikro-orm/core';
import { countKeysetRowsPerParent, type KeysetOrder } from '../db/keyset';
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
 * however many parents the outer page holds. Lives for one request.
 */
export class ChildConnectionLoader<T extends TrashableEntity> {
  private readonly pageLoaders = new Map<string, DataLoader<string, Page<T>>>();
  private readonly countLoaders = new Map<string, DataLoader<string, number>>();

  constructor(
    private readonly em: EntityManager,
    private readonly entity: EntityClass<T>,
    private readonly parentProperty: keyof T & string,
  ) {}

  page(parentId: string, listing: Listing<T>, args: PageArgs): Promise<Page<T>> {
    // Parents resolved for the same field share its arguments, hence one loader per argument set.
    const key = JSON.stringify([args.first, args.after ?? null, listing.order.name, listing.where]);
    let loader = this.pageLoaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        const pages = await findKeysetPagesPerParent(this.em, {
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
    return loader.load(parentId);
  }

  count(parentId: string, listing: Listing<T>): Promise<number> {
    const key = JSON.stringify([listing.order.name, listing.where]);
    let loader = this.countLoaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        if (listing.counted) {
          const kept = await new RowCounts(this.em).countPerParent(this.entity, listing.counted, parentIds);
          return parentIds.map((id) => kept.get(id) ?? 0);
        }
        const counts = await countKeysetRowsPerParent(this.em, {
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
    return loader.load(parentId);
  }
}
