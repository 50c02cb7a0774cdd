import type { EntityClass } from '@mikro-orm/core';
import type { TrashableEntity } from './trashable.entity';

/**
 * A value that must be unique among live records only, case-insensitively,
 * enforced by a partial unique index on `lower(column) WHERE deleted_at IS NULL`.
 */
export interface LiveUniqueKey<T> {
  /** Entity property, also the name reported in `extensions.field`. */
  field: keyof T & string;
  /** Name of the partial unique index, to recognise its violations. */
  constraint: string;
}

/** What the trash mechanics need to know about one trashable entity. */
export interface TrashPolicy<T extends TrashableEntity> {
  entity: EntityClass<T>;
  /** Name used in messages and in `extensions.entityType`. */
  typeName: string;
  uniqueKeys: LiveUniqueKey<T>[];
}
