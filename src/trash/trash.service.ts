import { LockMode, UniqueConstraintViolationException, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../errors';
import { columnName } from './columns';
import { isUuid, newId } from './ids';
import type { LiveUniqueKey, TrashPolicy } from './trash-policy';
import { SOFT_DELETE_FILTER, type TrashableEntity } from './trashable.entity';

/** Source of "now"; tests pass their own to control time. */
export type Clock = () => Date;

/** Who is acting and when: what every service receives for one request. */
export interface ServiceContext {
  em: EntityManager;
  clock: Clock;
  /** Id of the acting principal; null when anonymous or the system acts. */
  actorId: string | null;
}

const withoutSoftDelete = { filters: { [SOFT_DELETE_FILTER]: false } } as const;

/**
 * The trash rules, written once for every trashable entity: find with or
 * without trashed rows, move to the trash, restore, and turn violations of
 * live-only unique indexes into CONFLICT errors.
 */
export class TrashService<T extends TrashableEntity> {
  constructor(
    private readonly policy: TrashPolicy<T>,
    private readonly context: ServiceContext,
  ) {}

  /** The record, or null when it does not exist (or is trashed and `includeDeleted` is off). */
  async findById(id: string, options: { includeDeleted: boolean }): Promise<T | null> {
    if (!isUuid(id)) return null;
    const where = { id } as FilterQuery<T>;
    return this.context.em.findOne(this.policy.entity, where, options.includeDeleted ? withoutSoftDelete : {});
  }

  /**
   * Runs `change` in a transaction on the row locked against concurrent
   * changes, live or trashed. Concurrent trash/restore/update calls on one
   * record are serialised here, so each sees the state the previous one left.
   */
  async changeLocked<R>(id: string, change: (record: T, em: EntityManager) => Promise<R>): Promise<R> {
    if (!isUuid(id)) throw new NotFoundError(this.policy.typeName, id);
    return this.translateUniqueViolations(() =>
      this.context.em.transactional(async (em) => {
        const record = await em.findOne(this.policy.entity, { id } as FilterQuery<T>, {
          ...withoutSoftDelete,
          lockMode: LockMode.PESSIMISTIC_WRITE,
          refresh: true,
        });
        if (!record) throw new NotFoundError(this.policy.typeName, id);
        return change(record, em);
      }),
    );
  }

  /** Updates a live record after the caller's checks; trashed records must be restored first. */
  update(id: string, expectedVersion: number | null | undefined, apply: (record: T) => void): Promise<T> {
    return this.changeLocked(id, async (record, em) => {
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
      await em.flush();
      return record;
    });
  }

  /**
   * Moves a live record to the trash under a new deletion id. Trashing a
   * trashed record returns it unchanged, so retries are safe.
   */
  moveToTrash(id: string, reason: string | null | undefined): Promise<T> {
    return this.changeLocked(id, async (record, em) => {
      if (record.deletedAt) return record;
      record.deletedAt = this.context.clock();
      record.deletedBy = this.context.actorId;
      record.deleteReason = reason ?? null;
      record.deletionId = newId();
      await em.flush();
      return record;
    });
  }

  /**
   * Takes a record out of the trash. Fails with CONFLICT, changing nothing,
   * when a live record now holds one of its unique values. Restoring a live
   * record returns it unchanged.
   */
  restoreFromTrash(id: string): Promise<T> {
    return this.changeLocked(id, async (record, em) => {
      if (!record.deletedAt) return record;
      await this.assertNoLiveClash(em, record);
      record.deletedAt = null;
      record.deletedBy = null;
      record.deleteReason = null;
      record.deletionId = null;
      await em.flush();
      return record;
    });
  }

  /** Inserts a new record; a clash with a live record's unique value becomes CONFLICT. */
  async create(record: T): Promise<T> {
    return this.translateUniqueViolations(async () => {
      await this.context.em.persistAndFlush(record);
      return record;
    });
  }

  private async assertNoLiveClash(em: EntityManager, record: T): Promise<void> {
    for (const key of this.policy.uniqueKeys) {
      const value = record[key.field];
      if (typeof value !== 'string') continue;
      const holder = await em
        .createQueryBuilder(this.policy.entity, 'e')
        .select('id')
        .where({ deletedAt: null, id: { $ne: record.id } } as FilterQuery<T>)
        .andWhere(`lower(e.${columnName(em, this.policy.entity, key.field)}) = lower(?)`, [value])
        .getSingleResult();
      if (holder) throw this.clashError(key, holder.id);
    }
  }

  private clashError(key: LiveUniqueKey<T>, conflictingId?: string): ConflictError {
    return new ConflictError(`Another live ${this.policy.typeName.toLowerCase()} already has this ${key.field}`, {
      field: key.field,
      ...(conflictingId ? { conflictingId } : {}),
    });
  }

  /** The database is the final judge of uniqueness (it sees concurrent writers); name the field it rejected. */
  private async translateUniqueViolations<R>(work: () => Promise<R>): Promise<R> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        const constraint = (error as { constraint?: string }).constraint;
        const key = this.policy.uniqueKeys.find((candidate) => candidate.constraint === constraint);
        if (key) throw this.clashError(key);
      }
      throw error;
    }
  }
}
