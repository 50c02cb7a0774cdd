import { Entity, Filter, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { newId } from './ids';

/** Name of the global filter that hides trashed rows; disable it per query with `filters: { softDelete: false }`. */
export const SOFT_DELETE_FILTER = 'softDelete';

/**
 * Columns and behaviour shared by every record that goes to the trash instead
 * of being deleted. The `softDelete` filter declared here is inherited by each
 * entity that extends this class.
 */
@ObjectType()
@Entity({ abstract: true })
@Filter({ name: SOFT_DELETE_FILTER, cond: { deletedAt: null }, default: true })
export abstract class TrashableEntity {
  [OptionalProps]?: 'isDeleted' | 'createdAt' | 'updatedAt' | 'version' | 'deletedAt' | 'deletedBy' | 'deleteReason' | 'deletionId';

  /** UUIDv7: ids sort by creation time, which keeps the primary-key index append-only. */
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Field(() => Date)
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Field(() => Int)
  @Property({ version: true })
  version!: number;

  @Field(() => Date, { nullable: true, description: 'When the record was moved to the trash; null while it is live.' })
  @Property({ type: 'datetime', nullable: true })
  deletedAt: Date | null = null;

  /** Principal that trashed the record; null for anonymous or system actions. */
  @Property({ type: 'uuid', nullable: true })
  deletedBy: string | null = null;

  @Property({ type: 'string', length: 500, nullable: true })
  deleteReason: string | null = null;

  /** Shared by every row one trash operation took, so a restore brings back exactly those rows. */
  @Property({ type: 'uuid', nullable: true })
  deletionId: string | null = null;

  @Field(() => Boolean)
  get isDeleted(): boolean {
    return this.deletedAt !== null;
  }
}
