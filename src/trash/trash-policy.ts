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
  /**
   * The `attempt`-th free variant of a value (1, 2, ...), within the field's
   * rules, for restores with onConflict RENAME. Without it, a clash on this
   * field stays a CONFLICT (an email address cannot be invented).
   */
  freeVariant?: (value: string, attempt: number) => string;
}

/** Any entity's policy, where relations between policies of different entities are declared. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTrashPolicy = TrashPolicy<any>;

/** Children that share their parent's fate: trashed, restored and purged with it. */
export interface CascadeRelation {
  policy: AnyTrashPolicy;
  /** The child's many-to-one property pointing at the parent. */
  parentProperty: string;
}

/** A record this one depends on: it cannot be restored (or created) while that one is in the trash. */
export interface RequiredParent {
  policy: AnyTrashPolicy;
  /** This entity's many-to-one property pointing at the parent. */
  property: string;
  /** How messages name the parent, e.g. "author". */
  role: string;
}

/** What the trash mechanics need to know about one trashable entity. */
export interface TrashPolicy<T extends TrashableEntity> {
  entity: EntityClass<T>;
  /** GraphQL type name; used in messages and in `extensions.entityType`. */
  typeName: string;
  uniqueKeys: LiveUniqueKey<T>[];
  /**
   * The user a record belongs to, for authorization: a user owns itself, a
   * post belongs to its author. `ownerProperty` is the same as a property, for queries.
   */
  ownerOf: (record: T) => string;
  ownerProperty: keyof T & string;
  /** Who may create and restore records: any member for its own, or admins only. */
  permissions: { create: 'owner' | 'admin'; restore: 'owner' | 'admin' };
  /** One level of children; thunks, because policies refer to each other. */
  cascadesTo: () => CascadeRelation[];
  requiresLive: () => RequiredParent[];
  /** Text properties the trash search matches (case-insensitive substrings), each covered by the entity's trigram index. */
  searchProperties: Array<keyof T & string>;
}
