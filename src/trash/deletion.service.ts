import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditAction } from '../audit/audit-event.entity';
import { AuditLog, type AuditEntry } from '../audit/audit.service';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors';
import { isUuid } from '../db/ids';
import {
  applyRenames,
  findBlockingParents,
  findLiveClashes,
  loadSelection,
  OnConflict,
  resolveClashes,
  type RestoreConflict,
  type RestoreRename,
  type RestoreSelection,
} from './restore-set';
import type { ServiceContext } from '../service-context';
import type { AnyTrashPolicy } from './trash-policy';
import type { RestorePlan } from './trash.service';
import type { TrashableEntity } from './trashable.entity';
import { restoreDeletionRows } from './trash-statements';
import { clashError, transactionalJudgedByUniqueIndexes } from './unique-violation';

/** What undoing one deletion brought back. */
export interface DeletionRestoreResult {
  deletionId: string;
  restored: TrashableEntity[];
  renames: RestoreRename[];
}

interface ExaminedDeletion extends RestorePlan {
  set: RestoreSelection[];
}

/**
 * Undo of one trash operation, whatever it took: every row of every entity
 * that carries the deletion id comes back, under the same rules as a single
 * restore (all checks first; trashed parents it does not bring back block it).
 */
export class DeletionService {
  private readonly audit: AuditLog;

  constructor(
    private readonly context: ServiceContext,
    private readonly policies: readonly AnyTrashPolicy[],
  ) {
    this.audit = new AuditLog(context);
  }

  /** What `restoreDeletion` would do now, without doing it. */
  async preview(deletionId: string, onConflict: OnConflict): Promise<RestorePlan> {
    this.context.access.requireSignedIn();
    if (!isUuid(deletionId)) throw this.notFound(deletionId);
    const { set: _set, ...plan } = await this.examine(this.context.em, deletionId, onConflict, { lock: false });
    return plan;
  }

  /**
   * Restores every row of the deletion in one transaction: the rows are locked
   * parents first (their required parents share-locked), checked, and brought
   * back with one UPDATE per table. The statements do not grow with the number
   * of rows (renames aside). One RESTORE audit event per record the deletion
   * took on its own, its cascaded rows counted in `affected`.
   */
  async restore(deletionId: string, onConflict: OnConflict): Promise<DeletionRestoreResult> {
    await this.context.access.requireActiveWriter();
    if (!isUuid(deletionId)) throw this.notFound(deletionId);
    const result = await transactionalJudgedByUniqueIndexes(
      this.context.em,
      async (em) => {
        const plan = await this.examine(em, deletionId, onConflict, { lock: true });
        if (plan.items.some((item) => this.policyOf(item).permissions.restore === 'admin')) this.context.access.requireAdmin();
        if (plan.blockedBy.length > 0) throw this.blockedError(deletionId, plan.blockedBy);
        const [conflict] = plan.conflicts;
        if (conflict) throw this.conflictError(conflict);

        await applyRenames(em, plan.renames);
        const now = this.context.clock();
        const restoredPerPolicy = new Map<AnyTrashPolicy, number>();
        for (const { policy } of plan.set) {
          const records = plan.items.filter((item) => item instanceof policy.entity);
          restoredPerPolicy.set(policy, await restoreDeletionRows(em, policy, deletionId, records, now));
        }
        await this.audit.write(em, this.auditEntries(deletionId, plan));
        return { plan, restoredPerPolicy };
      },
      { policies: this.policies, retryUniqueViolations: onConflict === OnConflict.RENAME },
    );
    for (const [policy, affected] of result.restoredPerPolicy) {
      if (affected === 0) continue;
      const items = result.plan.items.filter((item) => item instanceof policy.entity);
      const ids = items.map((item) => item.id);
      const ownerIds = items.map((item) => policy.ownerOf(item));
      this.context.observer?.trashChanged({ action: 'RESTORE', entityType: policy.typeName, ids, ownerIds, deletionId, affected, actorId: this.context.access.actorId });
    }
    return { deletionId, restored: result.plan.items, renames: result.plan.renames };
  }

  /**
   * The deletion's rows, entity by entity in policy order (parents first),
   * with the trashed parents they need that it does not bring back, the
   * clashes and, with RENAME, the renames. NOT_FOUND when no row carries the
   * id, or when a member did not make the deletion itself.
   */
  private async examine(em: EntityManager, deletionId: string, onConflict: OnConflict, options: { lock: boolean }): Promise<ExaminedDeletion> {
    const set: RestoreSelection[] = this.policies.map((policy) => ({ policy, deletionId }));
    const items: TrashableEntity[] = [];
    const blockedBy: TrashableEntity[] = [];
    for (const selection of set) {
      // Parents before children: a child's required parents are locked before the child.
      blockedBy.push(...(await findBlockingParents(em, selection, set, options)));
      items.push(...(await loadSelection(em, selection, options)));
    }
    if (items.length === 0) throw this.notFound(deletionId);
    this.context.access.requireOwnDeletion(
      items.map((item) => item.deletedBy),
      () => this.notFound(deletionId),
    );
    const clashes: RestoreConflict[] = [];
    for (const selection of set) clashes.push(...(await findLiveClashes(em, selection)));
    const resolved = await resolveClashes(em, set, clashes, onConflict);
    return { set, items, blockedBy: uniqueById(blockedBy), ...resolved };
  }

  /** One event per record the deletion took on its own; rows it cascaded to count in that record's `affected`. */
  private auditEntries(deletionId: string, plan: ExaminedDeletion): AuditEntry[] {
    const restoredIds = new Set(plan.items.map((item) => item.id));
    const groups = new Map<TrashableEntity, TrashableEntity[]>();
    const byId = new Map(plan.items.map((item) => [item.id, item]));
    for (const item of plan.items) {
      const parentId = this.cascadeParentIdOf(item);
      const parent = parentId && restoredIds.has(parentId) ? byId.get(parentId)! : item;
      groups.set(parent, [...(groups.get(parent) ?? []), ...(parent === item ? [] : [item])]);
    }
    return [...groups].map(([root, children]) => {
      const members = new Set([root.id, ...children.map((child) => child.id)]);
      return {
        action: AuditAction.RESTORE,
        entityType: this.policyOf(root).typeName,
        entityId: root.id,
        deletionId,
        affected: 1 + children.length,
        renames: plan.renames.filter((rename) => members.has(rename.item.id)),
      };
    });
  }

  /** The id of the record whose trash operation cascaded to this one, if its entity cascades from another. */
  private cascadeParentIdOf(item: TrashableEntity): string | undefined {
    for (const policy of this.policies) {
      for (const child of policy.cascadesTo()) {
        if (!(item instanceof child.policy.entity)) continue;
        const reference = (item as unknown as Record<string, unknown>)[child.parentProperty] as { id?: string } | undefined;
        if (reference?.id) return reference.id;
      }
    }
    return undefined;
  }

  private policyOf(item: TrashableEntity): AnyTrashPolicy {
    return this.policies.find((policy) => item instanceof policy.entity)!;
  }

  private blockedError(deletionId: string, blockedBy: TrashableEntity[]): PreconditionFailedError {
    const blockers = blockedBy.map((record) => ({ entityType: this.policyOf(record).typeName, id: record.id }));
    return new PreconditionFailedError(
      `Deletion ${deletionId} cannot be restored while records it needs are in the trash (${blockers
        .map((blocker) => `${blocker.entityType} ${blocker.id}`)
        .join(', ')}); restore them first`,
      { blockedBy: blockers },
    );
  }

  private conflictError(conflict: RestoreConflict): ConflictError {
    return clashError(this.policyOf(conflict.item).typeName, conflict.field, conflict.conflictingId);
  }

  private notFound(deletionId: string): NotFoundError {
    return new NotFoundError('Deletion', deletionId);
  }
}

function uniqueById(records: TrashableEntity[]): TrashableEntity[] {
  return [...new Map(records.map((record) => [record.id, record])).values()];
}
