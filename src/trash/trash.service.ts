import { LockMode, raw, UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditAction } from '../audit/audit-event.entity';
import { AuditLog } from '../audit/audit.service';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors';
import { columnName, tableName } from '../db/columns';
import { readById } from '../db/compiled/keyset-reads';
import { isUuid, newId } from '../db/ids';
import type { Listing } from './child-connection.loader';
import { purgeRecords } from './purge';
import { trashedRowsVisibleTo, trashOrder, visibilityOf } from './trash-listing';
import type { ServiceContext } from '../service-context';
import type { TrashChange } from './trash-observer';
import type { CascadeRelation, LiveUniqueKey, RequiredParent, TrashPolicy } from './trash-policy';
import { SOFT_DELETE_FILTER, withoutSoftDelete, type TrashableEntity } from './trashable.entity';

const DAY_MS = 86_400_000;

/** A live record holding a unique value that a restore would bring back. */
export interface RestoreConflict {
  item: TrashableEntity;
  field: string;
  value: string;
  conflictingId: string;
}

/** What restoring a record would bring back, and what stands in the way. */
export interface RestorePlan {
  items: TrashableEntity[];
  conflicts: RestoreConflict[];
  /** Trashed records that must be restored first (e.g. a post's author). */
  blockedBy: TrashableEntity[];
}

/**
 * The trash rules, written once for every trashable entity: find with or
 * without trashed rows, move to the trash with cascade, restore exactly what
 * one trash operation took, purge, and turn violations of live-only unique
 * indexes into CONFLICT errors. Every change writes its audit event in the
 * same transaction.
 *
 * Lock order is always parent before child (a user before its posts), so
 * concurrent operations on a user and its posts cannot deadlock.
 */
export class TrashService<T extends TrashableEntity> {
  private readonly audit: AuditLog;

  constructor(
    private readonly policy: TrashPolicy<T>,
    private readonly context: ServiceContext,
  ) {
    this.audit = new AuditLog(context);
  }

  /**
   * The record, or null when it does not exist, or is trashed and either
   * `includeDeleted` is off or the principal may not see it (then it answers
   * exactly as for a missing record).
   */
  async findById(id: string, options: { includeDeleted: boolean }): Promise<T | null> {
    if (options.includeDeleted) this.access.requireSignedIn();
    if (!isUuid(id)) return null;
    // A read: one plain row by a compiled statement, with the softDelete filter's own condition unless trashed rows are asked for.
    const record = await readById(this.context.reads, this.policy.entity, id, { name: SOFT_DELETE_FILTER, apply: !options.includeDeleted });
    return record && this.isVisible(record) ? record : null;
  }

  /** Live records are public; a trashed one only to admins and its owner. */
  isVisible(record: T): boolean {
    return !record.deletedAt || this.access.mayViewTrashedOf(this.policy.ownerOf(record));
  }

  /**
   * The order and conditions of a listing with these arguments, as the
   * principal may see it. `counted` is set when the listing shows every row of
   * its visibility, so the maintained row counts answer its `totalCount`.
   */
  listing(args: { includeDeleted: boolean; onlyDeleted: boolean }): Listing<T> {
    const visibility = visibilityOf(args);
    const ownerId = visibility === 'live' ? null : this.access.trashedOwnerScope();
    return {
      order: trashOrder<T>(visibility),
      where: trashedRowsVisibleTo<T>(visibility, this.policy.ownerProperty, ownerId),
      counted: ownerId === null ? visibility : undefined,
    };
  }

  /**
   * Inserts a new record with its CREATE event. Required parents (a post's
   * author) must exist and be live: they are locked against a concurrent move
   * to the trash, so no record is ever created under a trashed parent.
   */
  async create(record: T): Promise<T> {
    await this.access.requireActiveWriter();
    if (this.policy.permissions.create === 'admin') this.access.requireAdmin();
    else this.access.requireOwnerOf(this.policy.ownerOf(record), record, () => this.notFound(record.id));
    return this.inTransaction(async (em) => {
      for (const parent of this.policy.requiresLive()) {
        const parentId = this.parentIdOf(record, parent);
        const live = parentId ? await this.lockParent(em, parent, parentId) : null;
        if (!live || live.deletedAt) throw new NotFoundError(parent.policy.typeName, parentId ?? '');
      }
      em.persist(record);
      this.audit.record(em, { action: AuditAction.CREATE, entityType: this.policy.typeName, entityId: record.id, affected: 1 });
      await em.flush();
      return record;
    });
  }

  /** Updates a live record after the caller's checks; trashed records must be restored first. */
  async update(id: string, expectedVersion: number | null | undefined, apply: (record: T) => void): Promise<T> {
    await this.access.requireActiveWriter();
    return this.changeLocked(id, async (record, em) => {
      this.requireOwner(record);
      if (record.deletedAt) {
        throw new PreconditionFailedError(`${this.policy.typeName} ${id} is in the trash; restore it first`, { id });
      }
      if (expectedVersion != null && expectedVersion !== record.version) {
        throw new ConflictError(
          `${this.policy.typeName} ${id} has version ${record.version}, not the expected ${expectedVersion}; reload and retry`,
          { field: 'expectedVersion' },
        );
      }
      apply(record);
      this.audit.record(em, { action: AuditAction.UPDATE, entityType: this.policy.typeName, entityId: id, affected: 1 });
      await em.flush();
      return record;
    });
  }

  /**
   * Moves a live record, and its live children, to the trash under one new
   * deletion id, with one UPDATE per child table whatever the number of
   * children. Trashing a trashed record returns it unchanged, so retries are safe.
   */
  async moveToTrash(id: string, reason: string | null | undefined): Promise<T> {
    await this.access.requireActiveWriter();
    let change: TrashChange | undefined;
    const result = await this.changeLocked(id, async (record, em) => {
      this.requireOwner(record);
      if (record.deletedAt) return record;
      const now = this.context.clock();
      const trashColumns = {
        deletedAt: now,
        deletedBy: this.access.actorId,
        deleteReason: reason ?? null,
        deletionId: newId(),
        purgeAt: this.context.trash.retentionDays > 0 ? new Date(now.getTime() + this.context.trash.retentionDays * DAY_MS) : null,
      };
      const cascaded = await this.updateChildren(em, (child) => ({ [child.parentProperty]: id, deletedAt: null }), trashColumns, now);
      Object.assign(record, trashColumns);
      this.audit.record(em, {
        action: AuditAction.DELETE,
        entityType: this.policy.typeName,
        entityId: id,
        deletionId: trashColumns.deletionId,
        reason: trashColumns.deleteReason,
        affected: 1 + cascaded,
      });
      await em.flush();
      change = this.change('DELETE', id, trashColumns.deletionId, 1 + cascaded);
      return record;
    });
    if (change) this.context.observer?.trashChanged(change);
    return result;
  }

  /**
   * What restoring the record would bring back (it and every row its deletion
   * took), which live records hold unique values it would reclaim, and which
   * trashed parents must come back first.
   */
  async planRestore(record: T, em: EntityManager = this.context.em): Promise<RestorePlan> {
    if (!record.deletedAt || !record.deletionId) return { items: [], conflicts: [], blockedBy: [] };
    const items: TrashableEntity[] = [record];
    for (const child of this.policy.cascadesTo()) {
      items.push(...(await em.find(child.policy.entity, { deletionId: record.deletionId, deletedAt: { $ne: null } }, withoutSoftDelete)));
    }
    return { items, ...(await this.findRestoreObstacles(record, em)) };
  }

  /** Unique clashes and trashed parents: what would make a restore fail. One statement per unique key and parent. */
  private async findRestoreObstacles(record: T, em: EntityManager): Promise<Omit<RestorePlan, 'items'>> {
    const conflicts = await this.findLiveClashes(em, this.policy, { column: 'id', value: record.id });
    for (const child of this.policy.cascadesTo()) {
      conflicts.push(...(await this.findLiveClashes(em, child.policy, { column: 'deletion_id', value: record.deletionId! })));
    }
    const blockedBy: TrashableEntity[] = [];
    for (const parent of this.policy.requiresLive()) {
      const parentId = this.parentIdOf(record, parent);
      const found = parentId ? await em.findOne(parent.policy.entity, { id: parentId }, withoutSoftDelete) : null;
      if (found?.deletedAt) blockedBy.push(found);
    }
    return { conflicts, blockedBy };
  }

  /**
   * Takes a record out of the trash together with exactly the rows its
   * deletion took: children trashed on their own, before or after, stay in the
   * trash. Checks everything first and changes nothing on a clash
   * (CONFLICT) or when a parent is still trashed (PRECONDITION_FAILED).
   * Restoring a live record returns it unchanged.
   */
  async restoreFromTrash(id: string): Promise<T> {
    await this.access.requireActiveWriter();
    if (this.policy.permissions.restore === 'admin') this.access.requireAdmin();
    let change: TrashChange | undefined;
    const result = await this.changeLocked(
      id,
      async (record, em) => {
        this.requireOwner(record);
        if (!record.deletedAt) return record;
        const obstacles = await this.findRestoreObstacles(record, em);
        const [blocker] = obstacles.blockedBy;
        if (blocker) {
          const parent = this.policy.requiresLive().find((candidate) => candidate.policy.entity === blocker.constructor)!;
          throw new PreconditionFailedError(
            `${this.policy.typeName} ${id} cannot be restored while its ${parent.role} (${parent.policy.typeName} ${blocker.id}) is in the trash; restore the ${parent.role} first`,
            { blockedBy: [{ entityType: parent.policy.typeName, id: blocker.id }] },
          );
        }
        const [conflict] = obstacles.conflicts;
        if (conflict) throw this.clashError(conflict.item.constructor.name, conflict.field, conflict.conflictingId);

        const deletionId = record.deletionId;
        const now = this.context.clock();
        const liveColumns = { deletedAt: null, deletedBy: null, deleteReason: null, deletionId: null, purgeAt: null };
        const cascaded = await this.updateChildren(em, () => ({ deletionId, deletedAt: { $ne: null } }), liveColumns, now);
        Object.assign(record, liveColumns);
        this.audit.record(em, {
          action: AuditAction.RESTORE,
          entityType: this.policy.typeName,
          entityId: id,
          deletionId,
          affected: 1 + cascaded,
        });
        await em.flush();
        change = this.change('RESTORE', id, deletionId, 1 + cascaded);
        return record;
      },
      { lockParents: true },
    );
    if (change) this.context.observer?.trashChanged(change);
    return result;
  }

  /**
   * Deletes a trashed record for good, with all of its children, and returns
   * the number of rows removed. Only the trash can be emptied: a live record
   * is refused with PRECONDITION_FAILED.
   */
  async purge(id: string): Promise<number> {
    this.access.requireAdmin();
    const purged = await this.changeLocked(id, async (record, em) => {
      if (!record.deletedAt) {
        throw new PreconditionFailedError(`${this.policy.typeName} ${id} is not in the trash; delete it first`, { id });
      }
      const [removed] = await purgeRecords(em, this.context, this.policy, [record]);
      return removed;
    });
    this.context.observer?.trashChanged(this.change('PURGE', id, purged.deletionId, purged.removed));
    return purged.removed;
  }

  /**
   * Sets the trash columns of the children `where` selects, one UPDATE per
   * child table whatever their number, as a change (version +1); returns the rows touched.
   */
  private async updateChildren(
    em: EntityManager,
    where: (child: CascadeRelation) => FilterQuery<TrashableEntity>,
    columns: Partial<TrashableEntity>,
    now: Date,
  ): Promise<number> {
    let touched = 0;
    for (const child of this.policy.cascadesTo()) {
      touched += await em.nativeUpdate(child.policy.entity, where(child), { ...columns, updatedAt: now, version: raw('version + 1') }, withoutSoftDelete);
    }
    return touched;
  }

  private change(action: TrashChange['action'], id: string, deletionId: string | null, affected: number): TrashChange {
    return { action, entityType: this.policy.typeName, ids: [id], deletionId, affected, actorId: this.access.actorId };
  }

  private get access() {
    return this.context.access;
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(this.policy.typeName, id);
  }

  private requireOwner(record: T): void {
    this.access.requireOwnerOf(this.policy.ownerOf(record), record, () => this.notFound(record.id));
  }

  /**
   * Runs `change` in a transaction on the row locked against concurrent
   * changes, live or trashed. Concurrent changes of one record are serialised
   * here, so each sees the state the previous one left.
   */
  private changeLocked<R>(id: string, change: (record: T, em: EntityManager) => Promise<R>, options: { lockParents?: boolean } = {}): Promise<R> {
    if (!isUuid(id)) return Promise.reject(this.notFound(id));
    return this.inTransaction(async (em) => {
      if (options.lockParents) await this.lockParentsOf(em, id);
      const record = await em.findOne(this.policy.entity, { id } as FilterQuery<T>, {
        ...withoutSoftDelete,
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      if (!record) throw this.notFound(id);
      return change(record, em);
    });
  }

  /** Share-locks the parents of the record first, keeping the parent-before-child lock order. */
  private async lockParentsOf(em: EntityManager, id: string): Promise<void> {
    const parents = this.policy.requiresLive();
    if (parents.length === 0) return;
    const columns = parents.map((parent) => columnName(em, this.policy.entity, parent.property));
    const [row] = await em
      .createQueryBuilder(this.policy.entity, 'e')
      .select(columns)
      .where({ id } as FilterQuery<T>)
      .execute<Record<string, string>[]>('all', false);
    if (!row) return;
    for (const [index, parent] of parents.entries()) {
      if (row[columns[index]]) await this.lockParent(em, parent, row[columns[index]]);
    }
  }

  private lockParent(em: EntityManager, parent: RequiredParent, parentId: string): Promise<TrashableEntity | null> {
    if (!isUuid(parentId)) return Promise.resolve(null);
    return em.findOne(parent.policy.entity, { id: parentId }, { ...withoutSoftDelete, lockMode: LockMode.PESSIMISTIC_READ, refresh: true });
  }

  private parentIdOf(record: T, parent: RequiredParent): string | undefined {
    const reference = (record as Record<string, unknown>)[parent.property] as { id?: string } | string | undefined;
    return typeof reference === 'string' ? reference : reference?.id;
  }

  /**
   * Live records that hold, case-insensitively, a unique value of the trashed
   * candidates selected by `column = value` (one record by id, or every row of
   * a deletion by deletion id). One statement per unique key.
   */
  private async findLiveClashes<C extends TrashableEntity>(
    em: EntityManager,
    policy: TrashPolicy<C>,
    candidates: { column: 'id' | 'deletion_id'; value: string },
  ): Promise<RestoreConflict[]> {
    const conflicts: RestoreConflict[] = [];
    const table = tableName(em, policy.entity);
    for (const key of policy.uniqueKeys) {
      const column = columnName(em, policy.entity, key.field);
      const rows: Array<{ item_id: string; conflicting_id: string; value: string }> = await em.getConnection().execute(
        `select c.id as item_id, l.id as conflicting_id, c."${column}" as value
           from "${table}" c
           join "${table}" l on lower(l."${column}") = lower(c."${column}") and l.deleted_at is null and l.id <> c.id
          where c."${candidates.column}" = ? and c.deleted_at is not null`,
        [candidates.value],
        'all',
        em.getTransactionContext(),
      );
      for (const row of rows) {
        const item = await em.findOneOrFail(policy.entity, { id: row.item_id } as FilterQuery<C>, withoutSoftDelete);
        conflicts.push({ item, field: key.field, value: row.value, conflictingId: row.conflicting_id });
      }
    }
    return conflicts;
  }

  private clashError(typeName: string, field: string, conflictingId?: string): ConflictError {
    return new ConflictError(`Another live ${typeName.toLowerCase()} already has this ${field}`, {
      field,
      ...(conflictingId ? { conflictingId } : {}),
    });
  }

  private uniqueKeyFor(constraint: string | undefined): LiveUniqueKey<T> | undefined {
    return this.policy.uniqueKeys.find((candidate) => candidate.constraint === constraint);
  }

  /** The database is the final judge of uniqueness (it sees concurrent writers): name the field it rejected. */
  private async inTransaction<R>(work: (em: EntityManager) => Promise<R>): Promise<R> {
    try {
      return await this.context.em.transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        const key = this.uniqueKeyFor((error as { constraint?: string }).constraint);
        if (key) throw this.clashError(this.policy.typeName, key.field);
      }
      throw error;
    }
  }
}
