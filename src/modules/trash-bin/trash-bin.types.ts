import type { GraphQLUnionType } from 'graphql';
import { Max, Min } from 'class-validator';
import { Args, ArgsType, createUnionType, Field, ID, Int, ObjectType } from 'type-graphql';
import { connectionTypeFor, MAX_PAGE_SIZE } from '../../graphql/connection';
import { connectionCost } from '../../security/query-limits';
import type { RestorePreview as RestorePreviewPlan } from '../../trash/trash-bin.service';
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

@ObjectType({ simpleResolvers: true, description: 'A unique value that a restore with onConflict RENAME replaced.' })
export class RestoreRename {
  @Field(() => TrashItem, { description: 'The restored record.' })
  item!: TrashableEntity;

  @Field(() => String, { description: 'e.g. "username".' })
  field!: string;

  @Field(() => String)
  from!: string;

  @Field(() => String)
  to!: string;
}

/** Page size of the preview's lists: each costs its selection once per item it may return. */
@ArgsType()
export class PreviewListArgs {
  @Field(() => Int, { defaultValue: MAX_PAGE_SIZE, description: `At most this many, 1 to ${MAX_PAGE_SIZE}.` })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  first!: number;
}

@ObjectType({ description: 'What restoring a record would bring back, and what stands in the way.' })
export class RestorePreview {
  private preview!: RestorePreviewPlan;

  static of(preview: RestorePreviewPlan): RestorePreview {
    const type = new RestorePreview();
    type.preview = preview;
    return type;
  }

  @Field(() => Boolean, { description: 'True when the restore would succeed now.' })
  get restorable(): boolean {
    return this.preview.restorable;
  }

  @Field(() => Int, { description: 'How many records the restore would bring back; `items` lists the first `first` of them.' })
  get itemCount(): number {
    return this.preview.items.length;
  }

  @Field(() => [TrashItem], { description: 'The record and every row its deletion took.', complexity: connectionCost })
  items(@Args(() => PreviewListArgs) { first }: PreviewListArgs): TrashableEntity[] {
    return this.preview.items.slice(0, first);
  }

  @Field(() => [RestoreConflict], { complexity: connectionCost })
  conflicts(@Args(() => PreviewListArgs) { first }: PreviewListArgs): RestoreConflict[] {
    return this.preview.conflicts.slice(0, first);
  }

  @Field(() => [TrashItem], { description: 'Trashed records that must be restored first.', complexity: connectionCost })
  blockedBy(@Args(() => PreviewListArgs) { first }: PreviewListArgs): TrashableEntity[] {
    return this.preview.blockedBy.slice(0, first);
  }

  @Field(() => [RestoreRename], { description: 'With onConflict: RENAME, the new values a restore would pick.', complexity: connectionCost })
  renames(@Args(() => PreviewListArgs) { first }: PreviewListArgs): RestoreRename[] {
    return this.preview.renames.slice(0, first);
  }
}

@ObjectType({ description: 'What one bounded emptyTrash call removed, and what it left for the next one.' })
export class EmptyTrashProgress {
  @Field(() => Int, { description: 'Rows removed by this call, cascaded children included.' })
  removedRows!: number;

  @Field(() => Int, { description: 'Trashed rows still due (trashed before olderThan); 0 when the trash is empty up to then.' })
  remainingRows!: number;
}
