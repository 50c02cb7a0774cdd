import { CharLength } from '../validation/char-length';
import { IsOptional } from 'class-validator';
import { ArgsType, Field, ID } from 'type-graphql';

/** Arguments of every `delete<Type>` mutation. */
@ArgsType()
export class DeleteArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Why it was trashed; at most 500 characters.' })
  @IsOptional()
  @CharLength(0, 500)
  reason?: string | null;
}
