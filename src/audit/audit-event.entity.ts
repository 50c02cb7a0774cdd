import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { newId } from '../db/ids';
import { Node } from '../graphql/node.interface';

export enum AuditAction {
  CREATE = 'CREATE',
  UPDATE = 'UPDATE',
  DELETE = 'DELETE',
  RESTORE = 'RESTORE',
  PURGE = 'PURGE',
}

registerEnumType(AuditAction, { name: 'AuditAction' });

/**
 * A unique value a RENAME restore replaced. The only record data an event
 * holds; purging the record clears it (see purge.ts).
 */
@ObjectType({ simpleResolvers: true })
export class AuditRename {
  @Field(() => String)
  entityType!: string;

  @Field(() => ID)
  entityId!: string;

  @Field(() => String)
  field!: string;

  @Field(() => String)
  from!: string;

  @Field(() => String)
  to!: string;
}

/**
 * One change, written in the same transaction as the change itself. It holds
 * ids, counts and times only, never a record's own data, so purging a record
 * leaves its history without leaving its personal data.
 */
@ObjectType({ implements: Node, simpleResolvers: true })
@Entity({ tableName: 'audit_events' })
@Index({ name: 'audit_events_order_idx', expression: 'create index "audit_events_order_idx" on "audit_events" ("at" desc, "id" desc)' })
@Index({
  name: 'audit_events_entity_order_idx',
  expression: 'create index "audit_events_entity_order_idx" on "audit_events" ("entity_id", "at" desc, "id" desc)',
})
export class AuditEvent {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Field(() => AuditAction)
  @Property({ type: 'string', length: 16 })
  action!: AuditAction;

  @Field(() => String)
  @Property({ type: 'string', length: 32 })
  entityType!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  entityId!: string;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  deletionId: string | null = null;

  @Field(() => ID, { nullable: true })
  @Property({ type: 'uuid', nullable: true })
  actorId: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 500, nullable: true })
  reason: string | null = null;

  @Field(() => Int, { description: 'Rows the operation touched, cascaded rows included.' })
  @Property({ type: 'integer' })
  affected!: number;

  @Field(() => Date)
  @Property({ type: 'datetime' })
  at!: Date;

  @Field(() => [AuditRename], {
    name: 'renames',
    description: 'RESTORE with onConflict RENAME: the values it replaced. Cleared when the record is purged.',
  })
  renameList(): AuditRename[] {
    return this.renames ?? [];
  }

  @Property({ type: 'json', nullable: true })
  renames: AuditRename[] | null = null;
}
