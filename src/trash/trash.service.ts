import { LockMode, type FilterQuery, type ObjectQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditAction } from '../audit/audit-event.entity';
import { AuditLog } from '../audit/audit.service';
import { ConflictError, ForbiddenError, NotFoundError, PreconditionFailedError, RecordsNotFoundError } from '../errors';
import { readByIds } from '../db/compiled/keyset-reads';
import { filterCondition, metadataOf } from '../db/compiled/read-sql';
import { isUuid, newId } from '../db/ids';
import type { KeysetOrder } from '../db/keyset';
import type { RenderedListing } from '../graphql/rendered-reads';
import type { Listing } from './child-connection.loader';
import { purgeRecords } from './purge';
import { RowCounts } from './row-counts';
import { trashedRowsVisibleTo, trashOrder, visibilityOf } from './trash-listing';
import type { ServiceContext } from '../service-context';
import type { TrashChange } from './trash-observer';
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
import type { RequiredParent, TrashPolicy } from './trash-policy';
import { SOFT_DELETE_FILTER, withoutSoftDelete, type TrashableEntity } from './trashable.entity';
import { changeTrashColumns, liveColumns, lockForChange, shareLockParentOf, type TrashColumns } from './trash-statements';
import { clashError, transactionalJudgedByUniqueIndexes } from './unique-violation';

const DAY_MS = 86_400_000;

/** A listing narrowed to one parent's records: the many-to-one property naming it, and its id. */
export interface ParentRestriction<T> {
  property: keyof T & string;
  id: string;
}

/** What restoring a record would bring back, and what stands in the way. */
export interface RestorePlan {
  items: TrashableEntity[];
  conflicts: RestoreConflict[];
  /** Trashed records that must be restored first (e.g. a post's author). */
  blockedBy: TrashableEntity[];
  /** With onConflict RENAME, the new values the restore would pick. */
  renames: RestoreRename[];
}

/** The outcome of moving several records to the trash in one call. */
export interface BulkTrashResult<T> {
  /** Null when every record was in the trash already. */
  deletionId: string | null;
  trashed: T[];
  alreadyTrashed: T[];
  /** Rows moved to the trash, cascaded ones included. */
  affected: number;
}

/** Most ids one bulk call takes. */
export const MAX_BULK_IDS = 100;

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
    return (await this.findByIds([id], options)).get(id) ?? null;
  }

  /**
   * `findById` for many ids in one statement: an entry for every id found,
   * holding the record, or null for a trashed record the principal may not
   * see. Trashed records are not read at all unless `includeDeleted`; ids
   * that are not UUIDs exist nowhere.
   */
  async findByIds(ids: readonly string[], options: { includeDeleted: boolean }): Promise<Map<string, T | null>> {
    if (options.includeDeleted) this.access.requireSignedIn();
    const uuids = [...new Set(ids.filter(isUuid))];
    if (uuids.length === 0) return new Map();
    // A read: plain rows by a compiled statement, with the softDelete filter's own condition unless trashed rows are asked for.
    const records = await readByIds(this.context.reads, this.policy.entity, uuids, { name: SOFT_DELETE_FILTER, apply: !options.includeDeleted });
    return new Map(records.map((record) => [record.id, this.isVisible(record) ? record : null]));
  }

  /**
   * `findById`'s rule as a condition, for a response the database writes
   * (graphql/rendered-reads.ts): the softDelete filter's own condition, or
   * with `includeDeleted`, live records and the trashed ones `isVisible` lets through.
   */
  renderedVisibility(options: { includeDeleted: boolean }): ObjectQuery<T> {
    if (!options.includeDeleted) return filterCondition(metadataOf(this.context.reads.em.getMetadata(), this.policy.entity), SOFT_DELETE_FILTER) as ObjectQuery<T>;
    const ownerId = this.access.trashedOwnerScope();
    return trashedRowsVisibleTo<T>('all', this.policy.ownerProperty, ownerId) as ObjectQuery<T>;
  }

  /** Live records are public; a trashed one only to admins and its owner. */
  isVisible(record: T): boolean {
    return !record.deletedAt || this.access.mayViewTrashedOf(this.policy.ownerOf(record));
  }

  /**
   * The order and conditions of a listing with these arguments, as the
   * principal may see it, of one parent's records only when `byParent` names
   * it (one author's posts). `counted` is set when the listing shows every row
   * of its visibility, so the maintained row counts (the parent's, with
   * `byParent`) answer its `totalCount`.
   */
  listing(args: { includeDeleted: boolean; onlyDeleted: boolean }, byParent?: ParentRestriction<T>): Listing<T> {
    const visibility = visibilityOf(args);
    const ownerId = visibility === 'live' ? null : this.access.trashedOwnerScope();
    const visible = trashedRowsVisibleTo<T>(visibility, this.policy.ownerProperty, ownerId);
    return {
      order: trashOrder<T>(visibility),
      where: byParent ? ({ $and: [visible, { [byParent.property]: byParent.id }] } as FilterQuery<T>) : visible,
      counted: ownerId === null ? visibility : undefined,
    };
  }

  /**
   * The same listing for a response PostgreSQL writes itself
   * (graphql/rendered-reads.ts): its total read from the maintained counters
   * when they answer it, else counted over the same conditions.
   */
  renderedListing(args: { includeDeleted: boolean; onlyDeleted: boolean }, byParent?: ParentRestriction<T>): RenderedListing {
    const { order, where, counted } = this.listing(args, byParent);
    return {
      order: order as KeysetOrder<never>,
      where: where as FilterQuery<never>,
      total: counted && new RowCounts(this.context.reads).rendered(this.policy.entity, counted, byParent?.id),
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
      const comparator = em.getComparator();
      const before = comparator.prepareEntity(record);
      apply(record);
      // A change to nothing (no fields, or the current values) is not a change: no version, no event.
      const changes = comparator.diffEntities(this.policy.entity.name, before, comparator.prepareEntity(record));
      if (Object.keys(changes).length === 0) return record;
      this.audit.record(em, { action: AuditAction.UPDATE, entityType: this.policy.typeName, entityId: id, affected: 1 });
      await em.flush();
      return record;
    }, { tracked: true });
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
      const trashColumns = this.trashColumns(now, reason);
      const cascaded = (await this.trashRows(em, [record], trashColumns, now)).get(id) ?? 0;
      change = this.change('DELETE', record, trashColumns.deletionId, 1 + cascaded);
      return record;
    });
    if (change) this.context.observer?.trashChanged(change);
    return result;
  }

  /**
   * What restoring the record would bring back (it and the rows its deletion
   * took with it), which live records hold unique values it would reclaim,
   * which trashed parents must come back first and, with RENAME, the new
   * values it would pick.
   */
  async planRestore(record: T, onConflict: OnConflict = OnConflict.FAIL, em: EntityManager = this.context.em): Promise<RestorePlan> {
    if (!record.deletedAt || !record.deletionId) return { items: [], conflicts: [], blockedBy: [], renames: [] };
    const items: TrashableEntity[] = [record];
    for (const selection of this.restoreSetOf(record).slice(1)) items.push(...(await loadSelection(em, selection, { lock: false })));
    return { items, ...(await this.findRestoreObstacles(record, onConflict, em)) };
  }

  /**
   * The record and the rows its deletion took with it (its children under the
   * same deletion id; in a bulk deletion, not the other records' children).
   */
  private restoreSetOf(record: T): RestoreSelection[] {
    const deletionId = record.deletionId!;
    return [
      { policy: this.policy, deletionId, id: record.id },
      ...this.policy.cascadesTo().map((child) => ({ policy: child.policy, deletionId, parent: { property: child.parentProperty, id: record.id } })),
    ];
  }

  /**
   * Unique clashes (or, with RENAME, the renames that avoid them) and trashed
   * parents: what would make a restore fail. One statement for the unique keys, one per
   * parent. Cascaded children need only the record itself as a parent.
   */
  private async findRestoreObstacles(record: T, onConflict: OnConflict, em: EntityManager): Promise<Omit<RestorePlan, 'items'>> {
    const set = this.restoreSetOf(record);
    const clashes: RestoreConflict[] = [];
    for (const selection of set) clashes.push(...(await findLiveClashes(em, selection)));
    const blockedBy = await findBlockingParents(em, set[0], set, { lock: false });
    return { ...(await resolveClashes(em, set, clashes, onConflict)), blockedBy };
  }

  /**
   * Takes a record out of the trash together with exactly the rows its
   * deletion took with it: children trashed on their own, before or after,
   * stay in the trash. Checks everything first and changes nothing on a clash
   * (CONFLICT; with RENAME, clashing values that allow it get a free variant)
   * or when a parent is still trashed (PRECONDITION_FAILED). Restoring a live
   * record returns it unchanged.
   */
  async restoreFromTrash(id: string, onConflict: OnConflict = OnConflict.FAIL): Promise<T> {
    await this.access.requireActiveWriter();
    if (this.policy.permissions.restore === 'admin') this.access.requireAdmin();
    let change: TrashChange | undefined;
    const result = await this.changeLocked(
      id,
      async (record, em) => {
        this.requireOwner(record);
        if (!record.deletedAt) return record;
        const obstacles = await this.findRestoreObstacles(record, onConflict, em);
        const [blocker] = obstacles.blockedBy;
        if (blocker) {
          const parent = this.policy.requiresLive().find((candidate) => blocker instanceof candidate.policy.entity)!;
          throw new PreconditionFailedError(
            `${this.policy.typeName} ${id} cannot be restored while its ${parent.role} (${parent.policy.typeName} ${blocker.id}) is in the trash; restore the ${parent.role} first`,
            { blockedBy: [{ entityType: parent.policy.typeName, id: blocker.id }] },
          );
        }
        const [conflict] = obstacles.conflicts;
        if (conflict) throw clashError(conflict.item.constructor.name, conflict.field, conflict.conflictingId);

        await applyRenames(em, obstacles.renames);
        for (const rename of obstacles.renames.filter((candidate) => candidate.item.id === record.id)) {
          (record as Record<string, unknown>)[rename.field] = rename.to;
        }
        const deletionId = record.deletionId;
        const now = this.context.clock();
        const cascaded = await changeTrashColumns(em, this.policy, {
          records: [record],
          columns: liveColumns,
          children: { trashedBy: deletionId! },
          now,
          audit: this.audit.values({ action: AuditAction.RESTORE, entityType: this.policy.typeName, deletionId }, [{ entityId: id, renames: obstacles.renames }]),
        }).then((taken) => taken.get(id) ?? 0);
        change = this.change('RESTORE', record, deletionId, 1 + cascaded);
        return record;
      },
      { lockParents: true, retryUniqueViolations: onConflict === OnConflict.RENAME },
    );
    if (change) this.context.observer?.trashChanged(change);
    return result;
  }

  /**
   * Moves several records, and their live children, to the trash under one
   * new deletion id, all or nothing: when any id is missing (or another
   * member's trashed record) the call fails with NOT_FOUND, when any is
   * another's live record with FORBIDDEN, each naming the ids in
   * `extensions.ids`. Records already in the trash are left as they are and
   * reported. The same statements for 2 ids as for 100: one lock, one UPDATE
   * per table, one INSERT of the audit events (one per record asked for).
   */
  async moveManyToTrash(ids: readonly string[], reason: string | null | undefined): Promise<BulkTrashResult<T>> {
    await this.access.requireActiveWriter();
    const asked = [...new Set(ids)];
    let change: TrashChange | undefined;
    const result = await this.inTransaction(async (em) => {
      const records = await this.lockMany(em, asked.filter(isUuid));
      const byId = new Map(records.map((record) => [record.id, record]));
      const missing = asked.filter((id) => !byId.has(id));
      const forbidden: string[] = [];
      for (const record of records) {
        const verdict = this.access.ownershipOf(this.policy.ownerOf(record), record);
        if (verdict === 'hidden') missing.push(record.id);
        if (verdict === 'forbidden') forbidden.push(record.id);
      }
      if (missing.length > 0) throw new RecordsNotFoundError(this.policy.typeName, missing);
      if (forbidden.length > 0) throw new ForbiddenError('Members may change only their own records', { ids: forbidden });

      const inAskedOrder = asked.map((id) => byId.get(id)!);
      const live = inAskedOrder.filter((record) => !record.deletedAt);
      const alreadyTrashed = inAskedOrder.filter((record) => record.deletedAt);
      if (live.length === 0) return { deletionId: null, trashed: [], alreadyTrashed, affected: 0 };

      const now = this.context.clock();
      const trashColumns = this.trashColumns(now, reason);
      const liveIds = live.map((record) => record.id);
      const cascaded = await this.trashRows(em, live, trashColumns, now);
      const affected = live.reduce((sum, record) => sum + 1 + (cascaded.get(record.id) ?? 0), 0);
      const ownerIds = live.map((record) => this.policy.ownerOf(record));
      change = { action: 'DELETE', entityType: this.policy.typeName, ids: liveIds, ownerIds, deletionId: trashColumns.deletionId, affected, actorId: this.access.actorId };
      return { deletionId: trashColumns.deletionId, trashed: live, alreadyTrashed, affected };
    });
    if (change) this.context.observer?.trashChanged(change);
    return result;
  }

  /** The trash columns of one new trash operation. */
  private trashColumns(now: Date, reason: string | null | undefined) {
    return {
      deletedAt: now,
      deletedBy: this.access.actorId,
      deleteReason: reason ?? null,
      deletionId: newId(),
      purgeAt: this.context.trash.retentionDays > 0 ? new Date(now.getTime() + this.context.trash.retentionDays * DAY_MS) : null,
    };
  }

  /**
   * Moves the records, and their live children, to the trash under one trash
   * operation's columns, with one DELETE event per record, in one statement;
   * returns how many children each record took along.
   */
  private trashRows(em: EntityManager, records: T[], trashColumns: TrashColumns, now: Date): Promise<Map<string, number>> {
    return changeTrashColumns(em, this.policy, {
      records,
      columns: trashColumns,
      children: { live: true },
      now,
      audit: this.audit.values(
        { action: AuditAction.DELETE, entityType: this.policy.typeName, deletionId: trashColumns.deletionId, reason: trashColumns.deleteReason },
        records.map((record) => ({ entityId: record.id })),
      ),
    });
  }

  /** The records with these ids, live or trashed, locked in id order (so concurrent bulk calls cannot deadlock), unmanaged. */
  private async lockMany(em: EntityManager, ids: string[]): Promise<T[]> {
    return ids.length === 0 ? [] : lockForChange(em, this.policy.entity, ids, {});
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
      const [removed] = await purgeRecords(em, this.context, this.policy, [record.id]);
      return { ...removed, change: this.change('PURGE', record, removed.deletionId, removed.removed) };
    });
    this.context.observer?.trashChanged(purged.change);
    return purged.removed;
  }

  private change(action: TrashChange['action'], record: T, deletionId: string | null, affected: number): TrashChange {
    const ownerIds = [this.policy.ownerOf(record)];
    return { action, entityType: this.policy.typeName, ids: [record.id], ownerIds, deletionId, affected, actorId: this.access.actorId };
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
   * here, so each sees the state the previous one left. The record is a plain
   * instance, written by compiled statements, unless `tracked` asks for one the
   * unit of work manages (an update, whose flush writes what changed).
   */
  private changeLocked<R>(
    id: string,
    change: (record: T, em: EntityManager) => Promise<R>,
    options: { lockParents?: boolean; retryUniqueViolations?: boolean; tracked?: boolean } = {},
  ): Promise<R> {
    if (!isUuid(id)) return Promise.reject(this.notFound(id));
    return this.inTransaction(async (em) => {
      if (options.lockParents) await this.lockParentsOf(em, id);
      const record = options.tracked
        ? await em.findOne(this.policy.entity, { $and: [{ id }, this.visibleToChange()] } as FilterQuery<T>, {
            ...withoutSoftDelete,
            lockMode: LockMode.PESSIMISTIC_WRITE,
            refresh: true,
          })
        : (await lockForChange(em, this.policy.entity, [id], this.visibleToChange()))[0];
      if (!record) throw this.notFound(id);
      return change(record, em);
    }, options.retryUniqueViolations);
  }

  /** Share-locks the parents of the record first, keeping the parent-before-child lock order. */
  private async lockParentsOf(em: EntityManager, id: string): Promise<void> {
    for (const parent of this.policy.requiresLive()) {
      await shareLockParentOf(em, this.policy.entity, { entity: parent.policy.entity, property: parent.property }, id, this.visibleToChange());
    }
  }

  /**
   * The records the principal may change if it owns them: another member's
   * trashed record is not even read, so that it runs exactly the statements
   * of a missing id and the trash cannot be probed by timing.
   */
  private visibleToChange(): FilterQuery<T> {
    return trashedRowsVisibleTo<T>('all', this.policy.ownerProperty, this.access.trashedOwnerScope());
  }

  private lockParent(em: EntityManager, parent: RequiredParent, parentId: string): Promise<TrashableEntity | null> {
    if (!isUuid(parentId)) return Promise.resolve(null);
    return em.findOne(parent.policy.entity, { id: parentId }, { ...withoutSoftDelete, lockMode: LockMode.PESSIMISTIC_READ, refresh: true });
  }

  private parentIdOf(record: T, parent: RequiredParent): string | undefined {
    const reference = (record as Record<string, unknown>)[parent.property] as { id?: string } | string | undefined;
    return typeof reference === 'string' ? reference : reference?.id;
  }

  /** The database is the final judge of uniqueness (it sees concurrent writers): its violations become CONFLICT. */
  private inTransaction<R>(work: (em: EntityManager) => Promise<R>, retryUniqueViolations = false): Promise<R> {
    return transactionalJudgedByUniqueIndexes(this.context.em, work, { policies: [this.policy], retryUniqueViolations });
  }
}
