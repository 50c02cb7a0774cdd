import type { FilterQuery } from '@mikro-orm/core';
import { BadUserInputError, NotFoundError } from '../errors';
import { isUuid } from '../db/ids';
import { countKeysetRows, type KeysetOrder } from '../db/keyset';
import type { Page, PageArgs } from '../graphql/connection';
import { decodeCursor } from '../graphql/cursor';
import { findKeysetPage, type PageWithTotal } from '../graphql/keyset-page';
import { DeletionService, type DeletionRestoreResult } from './deletion.service';
import { runPurgePass } from './purge';
import { OnConflict } from './restore-set';
import { RowCounts } from './row-counts';
import type { ServiceContext } from '../service-context';
import { trashedRowsVisibleTo } from './trash-listing';
import { trashSearchConditions, validateTrashSearch, type TrashSearch } from './trash-search';
import type { AnyTrashPolicy } from './trash-policy';
import { TrashService, type RestorePlan } from './trash.service';
import { withoutSoftDelete, type TrashableEntity } from './trashable.entity';

// Newest deletion first across entity types, each read from its partial trash index. Its own cursor
// name: a position in one entity's onlyDeleted listing is no position in the whole trash.
const wholeTrash: KeysetOrder<TrashableEntity> = { name: 'trash', sortProperty: 'deletedAt', where: { deletedAt: { $ne: null } } };

export interface RestorePreview extends RestorePlan {
  restorable: boolean;
}

/** The trash as one place, across every trashable entity: list it, preview a restore, empty it. */
export class TrashBinService {
  private readonly deletions: DeletionService;

  constructor(
    private readonly context: ServiceContext,
    private readonly policies: readonly AnyTrashPolicy[],
  ) {
    this.deletions = new DeletionService(context, policies);
  }

  /**
   * Everything in the trash, newest deletion first: the same keyset page is
   * read from each entity's partial trash index and merged, so a page costs
   * one index range scan per entity type. A search narrows what the principal
   * may see (its conditions are ANDed with the owner scope), never widens it.
   */
  async list(args: PageArgs, search: TrashSearch = {}): Promise<PageWithTotal<TrashableEntity>> {
    const ownerId = this.context.access.trashedOwnerScope();
    validateTrashSearch(search);
    // Checked here too: a search that rules out every type reads no page that would check it.
    if (args.after != null) decodeCursor(args.after, wholeTrash);
    const requests: Array<{ entity: AnyTrashPolicy['entity']; order: KeysetOrder<TrashableEntity>; where: FilterQuery<TrashableEntity>; filtered: boolean }> = [];
    for (const policy of this.policies) {
      const conditions = trashSearchConditions(policy, search);
      if (conditions === null) continue;
      const visible = trashedRowsVisibleTo<TrashableEntity>('trashed', policy.ownerProperty as keyof TrashableEntity & string, ownerId);
      const filtered = Object.keys(conditions).length > 0;
      requests.push({ entity: policy.entity, order: wholeTrash, where: { $and: [visible, conditions] } as FilterQuery<TrashableEntity>, filtered });
    }
    const pages = [];
    for (const request of requests) pages.push(await findKeysetPage(this.context.em, { ...request, first: args.first, after: args.after }));
    const merged = pages.flatMap((page) => page.edges).sort((a, b) => newestDeletionFirst(a.node, b.node));
    const counts = new RowCounts(this.context.em);
    const countTotal = async () => {
      let total = 0;
      for (const request of requests) {
        // An admin's unfiltered view is the whole trash, which the maintained row counts know; anything narrower is counted.
        total += ownerId === null && !request.filtered ? await counts.count(request.entity, 'trashed') : await countKeysetRows(this.context.em, request);
      }
      return total;
    };
    const hasNextPage = merged.length > args.first || pages.some((page) => page.hasNextPage);
    return { page: { edges: merged.slice(0, args.first), hasNextPage }, countTotal };
  }

  /**
   * What `restore<Type>(id)`, or `restoreDeletion(deletionId)`, would do now,
   * without doing it; exactly one of the two is given. NOT_FOUND for an id in
   * no table, and for another member's trashed record or deletion.
   */
  async preview(args: { id?: string | null; deletionId?: string | null; onConflict: OnConflict }): Promise<RestorePreview> {
    this.context.access.requireSignedIn();
    if ((args.id == null) === (args.deletionId == null)) {
      throw new BadUserInputError('Give exactly one of id and deletionId', args.id == null ? 'id' : 'deletionId');
    }
    let plan: RestorePlan;
    if (args.deletionId != null) {
      plan = await this.deletions.preview(args.deletionId, args.onConflict);
    } else {
      const found = await this.findAnywhere(args.id!);
      const trash = found && new TrashService(found.policy, this.context);
      if (!found || !trash!.isVisible(found.record)) throw new NotFoundError('Record', args.id!);
      plan = await trash!.planRestore(found.record, args.onConflict);
    }
    return { ...plan, restorable: plan.conflicts.length === 0 && plan.blockedBy.length === 0 };
  }

  /** Undo: restores every row one trash operation took. */
  restoreDeletion(deletionId: string, onConflict: OnConflict): Promise<DeletionRestoreResult> {
    return this.deletions.restore(deletionId, onConflict);
  }

  /** Purges everything trashed before `olderThan` (default: now); returns the rows removed. */
  async empty(olderThan: Date | null | undefined): Promise<number> {
    this.context.access.requireAdmin();
    const before = olderThan ?? this.context.clock();
    if (Number.isNaN(before.getTime())) throw new BadUserInputError('Invalid olderThan: not a date-time', 'olderThan');
    const result = await runPurgePass(this.context, this.policies, {
      due: { column: 'deleted_at', before, inclusive: false },
      batchSize: this.context.trash.purgeBatchSize,
      waitForLock: true,
    });
    return result.removed;
  }

  private async findAnywhere(id: string): Promise<{ policy: AnyTrashPolicy; record: TrashableEntity } | undefined> {
    if (!isUuid(id)) return undefined;
    for (const policy of this.policies) {
      const record = await this.context.em.findOne(policy.entity, { id }, withoutSoftDelete);
      if (record) return { policy, record: record as TrashableEntity };
    }
    return undefined;
  }
}

function newestDeletionFirst(a: TrashableEntity, b: TrashableEntity): number {
  const byTime = b.deletedAt!.getTime() - a.deletedAt!.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
