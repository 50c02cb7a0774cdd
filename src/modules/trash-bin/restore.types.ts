import { ArgsType, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ArrayMaxSize, ArrayMinSize, IsOptional } from 'class-validator';
import { OnConflict } from '../../trash/restore-set';
import { MAX_BULK_IDS } from '../../trash/trash.service';
import type { TrashableEntity } from '../../trash/trashable.entity';
import { CharLength } from '../../validation/char-length';
import { RestoreRename, TrashItem } from './trash-bin.types';

registerEnumType(OnConflict, {
  name: 'OnConflict',
  description: 'What a restore does when a live record holds one of its unique values meanwhile.',
  valuesConfig: {
    FAIL: { description: 'Refuse the restore with CONFLICT; nothing changes.' },
    RENAME: { description: 'Give the value a free variant (`ada` -> `ada-restored`, `ada-restored-2`, ...). Emails are never renamed.' },
  },
});

@ObjectType({ simpleResolvers: true })
export class BulkDeletePayload {
  @Field(() => ID, { nullable: true, description: 'The deletion id of this call; null when every id was already in the trash.' })
  deletionId!: string | null;

  @Field(() => [TrashItem], {
    description: 'Records this call moved to the trash (the ids asked for; cascaded rows are counted in `affected`).',
  })
  trashed!: TrashableEntity[];

  @Field(() => [TrashItem], { description: 'Ids asked for that were already in the trash, left exactly as they were.' })
  alreadyTrashed!: TrashableEntity[];

  @Field(() => Int, { description: 'Rows this call moved to the trash, cascaded rows included.' })
  affected!: number;
}

@ObjectType({ simpleResolvers: true })
export class RestoreDeletionPayload {
  @Field(() => ID)
  deletionId!: string;

  @Field(() => [TrashItem], { description: 'Every record the restore brought back.' })
  restored!: TrashableEntity[];

  @Field(() => [RestoreRename], { description: 'Unique values given a free variant because of onConflict: RENAME.' })
  renames!: RestoreRename[];
}

/** Arguments of every `delete<Type>s` mutation. */
@ArgsType()
export class BulkDeleteArgs {
  @Field(() => [ID], { description: `1 to ${MAX_BULK_IDS} ids; all are trashed, or none.` })
  @ArrayMinSize(1, { message: 'must list at least one id' })
  @ArrayMaxSize(MAX_BULK_IDS, { message: `must list at most ${MAX_BULK_IDS} ids` })
  ids!: string[];

  @Field(() => String, { nullable: true, description: 'Why they were trashed; at most 500 characters.' })
  @IsOptional()
  @CharLength(0, 500)
  reason?: string | null;
}
