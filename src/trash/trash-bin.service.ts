import type { FilterQuery } from '@mikro-orm/core';
import { BadUserInputError, NotFoundError } from '../errors';
import { isUuid } from '../db/ids';
import { readKeysetCount } from '../db/compiled/keyset-reads';
import type { KeysetOrder } from '../db/keyset';
import type { PageArgs } from '../graphql/connection';
import { decodeCursor } from '../graphql/cursor';
import { findKeysetPage, type PageWithTotal } from '../graphql/keyset-page';
import type { RenderedMergedListing } from '../graphql/rendered-reads';
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

/** What one bounded emptyTrash call did, and what it left for the next call. */
export interface EmptyTrashProgress {
  /** Rows removed, cascaded children included. */
  removedRows: number;
  /** Trashed rows still due (trashed before olderThan) after this call. */
  remainingRows: number;
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
    const requests = this.listingsOf(ownerId, search);
    const pages = [];
    for (const request of requests) pages.push(await findKeysetPage(this.context.reads, { ...request, first: args.first, after: args.after }));
    const merged = pages.flatMap((page) => page.edges).sort((a, b) => newestDeletionFirst(a.node, b.node));
    const counts = new RowCounts(this.context.reads);
    const countTotal = async () => {
      let total = 0;
      for (const request of requests) {
        total += request.counted ? await counts.count(request.entity, 'trashed') : await readKeysetCount(this.context.reads, request);
      }
      return total;
    };
    const hasNextPage = merged.length > args.first || pages.some((page) => page.hasNextPage);
    return { page: { edges: merged.slice(0, args.first), hasNextPage }, countTotal };
  }

  /**
   * `list` without a search, for a response the database writes
   * (graphql/rendered-reads.ts): each entity's trashed rows the principal may
   * see, in the trash's order, with the same totals.
   */
  renderedListing(): RenderedMergedListing {
    const ownerId = this.context.access.trashedOwnerScope();
    const counts = new RowCounts(this.context.reads);
    return {
      order: wholeTrash as KeysetOrder<never>,
      members: this.listingsOf(ownerId, {}).map((request) => ({
        entity: request.entity,
        where: request.where as FilterQuery<never>,
        total: request.counted ? counts.rendered(request.entity, 'trashed') : undefined,
      })),
    };
  }

  /**
   * Per entity type, the trashed rows the principal may see that match the
   * search; types the search rules out are left out. `counted`: the listing
   * is the type's whole trash (an admin's, unfiltered), which the maintained
   * row counts know; anything narrower is counted.
   */
  private listingsOf(ownerId: string | null, search: TrashSearch) {
    const requests: Array<{ entity: AnyTrashPolicy['entity']; order: KeysetOrder<TrashableEntity>; where: FilterQuery<TrashableEntity>; counted: boolean }> = [];
    for (const policy of this.policies) {
      const conditions = trashSearchConditions(policy, search);
      if (conditions === null) continue;
      const visible = trashedRowsVisibleTo<TrashableEntity>('trashed', policy.ownerProperty as keyof TrashableEntity & string, ownerId);
      const counted = ownerId === null && Object.keys(conditions).length === 0;
      requests.push({ entity: policy.entity, order: wholeTrash, where: { $and: [visible, conditions] } as FilterQuery<TrashableEntity>, counted });
    }
    return requests;
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
      if (!found) throw new NotFoundError('Record', args.id!);
      plan = await new TrashService(found.policy, this.context).planRestore(found.record, args.onConflict);
    }
    return { ...plan, restorable: plan.conflicts.length === 0 && plan.blockedBy.length === 0 };
  }

  /** Undo: restores every row one trash operation took. */
  restoreDeletion(deletionId: string, onConflict: OnConflict): Promise<DeletionRestoreResult> {
    return this.deletions.restore(deletionId, onConflict);
  }

  /**
   * Purges what was trashed before `olderThan` (default: now), at most `limit`
   * records (default and ceiling: EMPTY_TRASH_MAX_RECORDS) with their children,
   * in transactions of PURGE_BATCH_SIZE records, starting no new transaction
   * after EMPTY_TRASH_MAX_MS, so that one call holds the database only
   * briefly; returns the rows removed. A caller empties a large trash by
   * calling again until nothing is removed.
   */
  async empty(olderThan: Date | null | undefined, limit?: number | null): Promise<number> {
    this.context.access.requireAdmin();
    const before = this.cutoff(olderThan);
    const maxRecords = this.recordLimit(limit);
    const result = await runPurgePass(this.context, this.policies, {
      due: { column: 'deleted_at', before, inclusive: false },
      batchSize: this.context.trash.purgeBatchSize,
      waitForLock: true,
      maxRecords,
      maxDurationMs: this.context.trash.emptyTrashMaxMs,
    });
    return result.removed;
  }

  /** `empty`, then how many due rows remain: what a client needs to know whether to call again. */
  async emptyStep(olderThan: Date | null | undefined, limit?: number | null): Promise<EmptyTrashProgress> {
    this.context.access.requireAdmin();
    const before = this.cutoff(olderThan);
    const removedRows = await this.empty(before, limit);
    let remainingRows = 0;
    for (const policy of this.policies) {
      // Served by the partial trash index (deleted_at where deleted_at is not null).
      const due = { deletedAt: { $ne: null, $lt: before } };
      remainingRows += await this.context.em.count(policy.entity, due, withoutSoftDelete);
    }
    return { removedRows, remainingRows };
  }

  private cutoff(olderThan: Date | null | undefined): Date {
    const before = olderThan ?? this.context.clock();
    if (Number.isNaN(before.getTime())) throw new BadUserInputError('Invalid olderThan: not a date-time', 'olderThan');
    return before;
  }

  private recordLimit(limit: number | null | undefined): number {
    const ceiling = this.context.trash.emptyTrashMaxRecords;
    if (limit == null) return ceiling;
    if (!Number.isInteger(limit) || limit < 1 || limit > ceiling) {
      throw new BadUserInputError(`Invalid limit: must be from 1 to ${ceiling}`, 'limit');
    }
    return limit;
  }

  /**
   * The record with this id that the principal may see, in whichever table
   * holds it. Every table is asked, with the visibility condition in the
   * query, so that another member's trashed record and a missing id run the
   * same statements: the trash cannot be probed by timing.
   */
  private async findAnywhere(id: string): Promise<{ policy: AnyTrashPolicy; record: TrashableEntity } | undefined> {
    if (!isUuid(id)) return undefined;
    const ownerId = this.context.access.trashedOwnerScope();
    let found: { policy: AnyTrashPolicy; record: TrashableEntity } | undefined;
    for (const policy of this.policies) {
      const visible = trashedRowsVisibleTo<TrashableEntity>('all', policy.ownerProperty as keyof TrashableEntity & string, ownerId);
      const record = await this.context.em.findOne(policy.entity, { $and: [{ id }, visible] }, withoutSoftDelete);
      if (record) found ??= { policy, record: record as TrashableEntity };
    }
    return found;
  }
}

function newestDeletionFirst(a: TrashableEntity, b: TrashableEntity): number {
  const byTime = b.deletedAt!.getTime() - a.deletedAt!.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
