import { Entity, Filter, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, InterfaceType, ObjectType } from 'type-graphql';
import { newId } from '../db/ids';

/** Name of the global filter that hides trashed rows. */
export const SOFT_DELETE_FILTER = 'softDelete';

/** Find options that let a query see trashed rows too: the one way to bypass the softDelete filter. */
export const withoutSoftDelete = { filters: { [SOFT_DELETE_FILTER]: false } } as const;

/** The GraphQL view of anything that can be in the trash; every trashable object type implements it. */
@InterfaceType('Trashable', { description: 'A record that is moved to the trash when deleted, and can be restored or purged from there.' })
export abstract class Trashable {
  @Field(() => ID)
  id!: string;

  @Field(() => Date, { nullable: true, description: 'When the record was moved to the trash; null while it is live.' })
  deletedAt!: Date | null;

  @Field(() => ID, { nullable: true, description: 'Principal that moved it to the trash; null when anonymous or the system.' })
  deletedBy!: string | null;

  @Field(() => String, { nullable: true })
  deleteReason!: string | null;

  @Field(() => ID, { nullable: true, description: 'Shared by every record one trash operation took; a restore brings back exactly those.' })
  deletionId!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the retention job will purge it; null while live or when automatic purge is off.' })
  purgeAt!: Date | null;

  @Field(() => Boolean)
  isDeleted!: boolean;
}

/**
 * Columns and behaviour shared by every record that goes to the trash instead
 * of being deleted. The `softDelete` filter declared here is inherited by each
 * entity that extends this class.
 */
@ObjectType({ simpleResolvers: true })
@Entity({ abstract: true })
@Filter({ name: SOFT_DELETE_FILTER, cond: { deletedAt: null }, default: true })
export abstract class TrashableEntity implements Trashable {
  [OptionalProps]?: 'isDeleted' | 'createdAt' | 'updatedAt' | 'version' | 'deletedAt' | 'deletedBy' | 'deleteReason' | 'deletionId' | 'purgeAt';

  /** UUIDv7: ids sort by creation time, which keeps the primary-key index append-only. */
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Field(() => Date)
  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Field(() => Date)
  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Field(() => Int, { description: 'Incremented by every change, including moves to and from the trash.' })
  @Property({ version: true })
  version!: number;

  @Property({ type: 'datetime', nullable: true })
  deletedAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  deletedBy: string | null = null;

  @Property({ type: 'string', length: 500, nullable: true })
  deleteReason: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  deletionId: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  purgeAt: Date | null = null;

  get isDeleted(): boolean {
    return this.deletedAt !== null;
  }
}

/** `isDeleted` in SQL, over the `deletedAt` column, for responses the database writes. */
export const isDeletedSql = ([deletedAt]: string[]) => `(${deletedAt} is not null)`;
