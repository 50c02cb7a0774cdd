import type { FilterQuery } from '@mikro-orm/core';
import { ArgsType, Field } from 'type-graphql';
import type { KeysetOrder } from '../db/keyset';
import { PageArgs } from '../graphql/connection';
import type { TrashableEntity } from './trashable.entity';

@ArgsType()
export class TrashFilterArgs extends PageArgs {
  @Field(() => Boolean, { defaultValue: false, description: 'List trashed records along with live ones.' })
  includeDeleted!: boolean;

  @Field(() => Boolean, {
    defaultValue: false,
    description: 'List only trashed records, newest deletion first. Takes precedence over includeDeleted.',
  })
  onlyDeleted!: boolean;
}

/** Which rows a listing shows; each has its own order and an index serving it. */
export type TrashVisibility = 'live' | 'all' | 'trashed';

export function visibilityOf(args: { includeDeleted: boolean; onlyDeleted: boolean }): TrashVisibility {
  if (args.onlyDeleted) return 'trashed';
  return args.includeDeleted ? 'all' : 'live';
}

const orders: Record<TrashVisibility, KeysetOrder<TrashableEntity>> = {
  // Served by the partial "<table>_live_order_idx" indexes.
  live: { name: 'live', sortProperty: 'createdAt', where: { deletedAt: null } },
  // Served by the full "<table>_order_idx" indexes.
  all: { name: 'all', sortProperty: 'createdAt', where: {} },
  // Newest deletion first, served by the partial "<table>_trash_order_idx" indexes.
  trashed: { name: 'trashed', sortProperty: 'deletedAt', where: { deletedAt: { $ne: null } } },
};

/** The keyset order of a listing of trashable records with the given visibility. */
export function trashOrder<T extends TrashableEntity>(visibility: TrashVisibility): KeysetOrder<T> {
  return orders[visibility] as unknown as KeysetOrder<T>;
}

/**
 * Which of the rows a visibility lists the principal may see: all of them for
 * an admin (`ownerId` null), or live rows plus only its own trashed ones.
 * Others' trashed rows are simply not listed.
 */
export function trashedRowsVisibleTo<T extends TrashableEntity>(
  visibility: TrashVisibility,
  ownerProperty: keyof T & string,
  ownerId: string | null,
): FilterQuery<T> {
  if (visibility === 'live' || ownerId === null) return {};
  const own = { [ownerProperty]: ownerId } as FilterQuery<T>;
  return (visibility === 'trashed' ? own : { $or: [{ deletedAt: null }, own] }) as FilterQuery<T>;
}
