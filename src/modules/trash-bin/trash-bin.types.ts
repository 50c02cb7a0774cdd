import type { GraphQLUnionType } from 'graphql';
import { createUnionType, Field, ID, ObjectType } from 'type-graphql';
import { connectionTypeFor } from '../../graphql/connection';
import type { TrashableEntity } from '../../trash/trashable.entity';
import { Post } from '../post/post.entity';
import { User } from '../user/user.entity';

export const TrashItem = createUnionType({
  name: 'TrashItem',
  description: 'Anything that can be in the trash.',
  // No resolveType: type-graphql then resolves by class, synchronously. A given resolveType it wraps in an
  // async function, which the compiled execution (graphql-jit) cannot wait for.
  types: () => [User, Post] as const,
});

export const TrashConnection = connectionTypeFor<TrashableEntity>(TrashItem as unknown as GraphQLUnionType, 'Trash');
export type TrashConnection = InstanceType<typeof TrashConnection>;

@ObjectType({ description: 'A live record holding a unique value that a restore would bring back.' })
export class RestoreConflict {
  @Field(() => TrashItem, { description: 'The trashed record that would clash.' })
  item!: TrashableEntity;

  @Field(() => String)
  field!: string;

  @Field(() => String)
  value!: string;

  @Field(() => ID, { description: 'The live record holding the value.' })
  conflictingId!: string;
}

@ObjectType({ description: 'What restoring a record would bring back, and what stands in the way.' })
export class RestorePreview {
  @Field(() => Boolean, { description: 'True when the restore would succeed now.' })
  restorable!: boolean;

  @Field(() => [TrashItem], { description: 'The record and every row its deletion took.' })
  items!: TrashableEntity[];

  @Field(() => [RestoreConflict])
  conflicts!: RestoreConflict[];

  @Field(() => [TrashItem], { description: 'Trashed records that must be restored first.' })
  blockedBy!: TrashableEntity[];
}
