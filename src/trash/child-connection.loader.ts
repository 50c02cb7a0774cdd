import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { countKeysetRowsPerParent, findKeysetPagesPerParent, type Page } from './pagination';
import { trashOrder, visibilityOf, type TrashFilterArgs } from './trash-listing';
import type { TrashableEntity } from './trashable.entity';

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

  page(parentId: string, args: TrashFilterArgs): Promise<Page<T>> {
    // Parents resolved for the same field share its arguments, hence one loader per argument set.
    const key = JSON.stringify([args.first, args.after ?? null, visibilityOf(args)]);
    let loader = this.pageLoaders.get(key);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        const pages = await findKeysetPagesPerParent(this.em, {
          entity: this.entity,
          parentProperty: this.parentProperty,
          parentIds,
          first: args.first,
          after: args.after,
          order: trashOrder<T>(visibilityOf(args)),
        });
        return parentIds.map((id) => pages.get(id)!);
      });
      this.pageLoaders.set(key, loader);
    }
    return loader.load(parentId);
  }

  count(parentId: string, args: Pick<TrashFilterArgs, 'includeDeleted' | 'onlyDeleted'>): Promise<number> {
    const visibility = visibilityOf(args);
    let loader = this.countLoaders.get(visibility);
    if (!loader) {
      loader = new DataLoader(async (parentIds) => {
        const counts = await countKeysetRowsPerParent(this.em, {
          entity: this.entity,
          parentProperty: this.parentProperty,
          parentIds,
          order: trashOrder<T>(visibility),
        });
        return parentIds.map((id) => counts.get(id) ?? 0);
      });
      this.countLoaders.set(visibility, loader);
    }
    return loader.load(parentId);
  }
}
