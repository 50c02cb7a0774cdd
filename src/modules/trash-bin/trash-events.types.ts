import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { TrashEventMessage } from '../../events/trash-event-bus';

export enum TrashEventAction {
  DELETE = 'DELETE',
  RESTORE = 'RESTORE',
  PURGE = 'PURGE',
}
registerEnumType(TrashEventAction, { name: 'TrashEventAction' });

@ObjectType({ description: 'A record a trash event is about.' })
export class TrashEventItem {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: '"User" or "Post".' })
  entityType!: string;
}

@ObjectType({ description: 'A committed change of the trash, on any instance of the server.' })
export class TrashEvent {
  @Field(() => TrashEventAction)
  action!: TrashEventAction;

  @Field(() => ID, { nullable: true, description: 'The deletion the change concerns; rows cascaded with the items carry it too.' })
  deletionId!: string | null;

  @Field(() => [TrashEventItem], {
    description: 'The records the operation acted on (cascaded rows are not listed); for a member, only its own.',
  })
  items!: TrashEventItem[];

  @Field(() => ID, { nullable: true, description: 'Who made the change; null for the retention job and other system actions.' })
  actorId!: string | null;

  @Field(() => Date)
  at!: Date;

  static from(message: TrashEventMessage): TrashEvent {
    return Object.assign(new TrashEvent(), {
      action: message.action as TrashEventAction,
      deletionId: message.deletionId,
      items: message.items.map(({ id, entityType }) => Object.assign(new TrashEventItem(), { id, entityType })),
      actorId: message.actorId,
      at: new Date(message.at),
    });
  }
}
