import type { FilterQuery } from '@mikro-orm/core';
import { BadUserInputError } from '../errors';
import { isUuid } from '../db/ids';
import type { AnyTrashPolicy } from './trash-policy';
import type { TrashableEntity } from './trashable.entity';

/** What a trash listing may be narrowed by; every condition given must hold. */
export interface TrashSearch {
  /** Policy type names (`User`, `Post`); every type when absent, none when empty. */
  types?: readonly string[] | null;
  deletedBy?: string | null;
  /** Inclusive. */
  deletedAfter?: Date | null;
  /** Exclusive, so that consecutive ranges never list a record twice. */
  deletedBefore?: Date | null;
  deletionId?: string | null;
  /** Case-insensitive substring of any of the entity's `searchProperties`. */
  search?: string | null;
}

// PostgreSQL's timestamptz cannot hold every JavaScript date (and year 0 is refused on the way in).
const EARLIEST = Date.UTC(1, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Rejects searches that are wrong rather than empty: dates out of range, a range that ends before it starts. */
export function validateTrashSearch(search: TrashSearch): void {
  for (const field of ['deletedAfter', 'deletedBefore'] as const) {
    const value = search[field];
    if (value != null && !(value.getTime() >= EARLIEST && value.getTime() <= LATEST)) {
      throw new BadUserInputError(`Invalid ${field}: must be between the years 1 and 9999`, field);
    }
  }
  if (search.deletedAfter != null && search.deletedBefore != null && search.deletedAfter > search.deletedBefore) {
    throw new BadUserInputError('Invalid deletedBefore: must not be earlier than deletedAfter', 'deletedBefore');
  }
}

/**
 * The conditions of a search on one entity's trashed rows, or null when the
 * search cannot match any of them (another type asked for, an id that is not a
 * UUID). Each condition has a partial index on trashed rows serving it:
 * deletedBy `<table>_trash_deleted_by_idx`, deletionId `<table>_deletion_idx`,
 * the time range `<table>_trash_order_idx`, search `<table>_trash_search_idx`.
 */
export function trashSearchConditions(policy: AnyTrashPolicy, search: TrashSearch): FilterQuery<TrashableEntity> | null {
  if (search.types != null && !search.types.includes(policy.typeName)) return null;
  const conditions: Array<FilterQuery<TrashableEntity>> = [];
  if (search.deletedBy != null) {
    if (!isUuid(search.deletedBy)) return null;
    conditions.push({ deletedBy: search.deletedBy });
  }
  if (search.deletionId != null) {
    if (!isUuid(search.deletionId)) return null;
    conditions.push({ deletionId: search.deletionId });
  }
  if (search.deletedAfter != null) conditions.push({ deletedAt: { $gte: search.deletedAfter } });
  if (search.deletedBefore != null) conditions.push({ deletedAt: { $lt: search.deletedBefore } });
  if (search.search) {
    const pattern = `%${escapeLikePattern(search.search)}%`;
    const properties = policy.searchProperties as string[];
    if (properties.length === 0) return null;
    conditions.push({ $or: properties.map((property) => ({ [property]: { $ilike: pattern } })) } as FilterQuery<TrashableEntity>);
  }
  return (conditions.length > 0 ? { $and: conditions } : {}) as FilterQuery<TrashableEntity>;
}

/** `%`, `_` and `\` match themselves: the search is a plain substring, not a pattern. */
function escapeLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}
