import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, NotFoundError } from '../errors';
import { isUuid } from './ids';
import { decodeCursor, encodeCursor, type Page, type PageArgs } from './pagination';
import { runPurgePass } from './purge';
import { rowsToEntities } from './rows';
import type { ServiceContext } from './service-context';
import type { AnyTrashPolicy } from './trash-policy';
import { TrashService, type RestorePlan } from './trash.service';
import { SOFT_DELETE_FILTER, type TrashableEntity } from './trashable.entity';

// Its own cursor name: a page of one entity's trash is no position in the whole trash.
const wholeTrash = { name: 'trash' };

export interface RestorePreview extends RestorePlan {
  restorable: boolean;
}

/** The trash as one place, across every trashable entity: list it, preview a restore, empty it. */
export class TrashBinService {
  constructor(
    private readonly context: ServiceContext,
    private readonly policies: readonly AnyTrashPolicy[],
  ) {}

  /**
   * Everything in the trash, newest deletion first: the same keyset page is
   * read from each entity's partial trash index and merged, so a page costs
   * one index range scan per entity type.
   */
  async list(args: PageArgs): Promise<{ page: Page<TrashableEntity>; countTotal: () => Promise<number> }> {
    const ownerId = this.context.access.trashedOwnerScope();
    const visibleTrash = (policy: AnyTrashPolicy) => ({ deletedAt: { $ne: null }, ...(ownerId ? { [policy.ownerProperty]: ownerId } : {}) });
    const cursor = args.after != null ? decodeCursor(args.after, wholeTrash) : undefined;
    const candidates: TrashableEntity[] = [];
    for (const policy of this.policies) {
      const qb = this.context.em
        .createQueryBuilder(policy.entity, 'e')
        .select('*')
        .where(visibleTrash(policy))
        .orderBy({ deletedAt: 'desc', id: 'desc' })
        .limit(args.first + 1);
      if (cursor) qb.andWhere('(e.deleted_at, e.id) < (?, ?)', [cursor.sortValue, cursor.id]);
      candidates.push(...rowsToEntities<TrashableEntity>(this.context.em as EntityManager, policy.entity, await qb.execute('all', false)));
    }
    candidates.sort(newestDeletionFirst);
    const edges = candidates.slice(0, args.first).map((node) => ({
      node,
      cursor: encodeCursor(wholeTrash, { sortValue: node.deletedAt!, id: node.id }),
    }));
    const countTotal = async () => {
      let total = 0;
      for (const policy of this.policies) total += await this.context.em.count(policy.entity, visibleTrash(policy), { filters: false });
      return total;
    };
    return { page: { edges, hasNextPage: candidates.length > args.first }, countTotal };
  }

  /**
   * What `restore<Type>(id)` would do now, without doing it. NOT_FOUND for an
   * id in no table, and for another member's trashed record.
   */
  async preview(id: string): Promise<RestorePreview> {
    this.context.access.requireSignedIn();
    const found = await this.findAnywhere(id);
    const trash = found && new TrashService(found.policy, this.context);
    if (!found || !trash!.isVisible(found.record)) throw new NotFoundError('Record', id);
    const plan = await trash!.planRestore(found.record);
    return { ...plan, restorable: plan.conflicts.length === 0 && plan.blockedBy.length === 0 };
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
      const record = await (this.context.em as EntityManager).findOne(policy.entity, { id }, { filters: { [SOFT_DELETE_FILTER]: false } });
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
