import { CharLength } from '../../validation/char-length';
import { IsInt, IsOptional, Min } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { TrashFilterArgs } from '../../trash/trash-listing';

export const MAX_BODY_LENGTH = 20_000;

@InputType()
export class CreatePostInput {
  @Field(() => ID, { description: 'A live user.' })
  authorId!: string;

  @Field(() => String, { description: '1 to 200 characters.' })
  @CharLength(1, 200)
  title!: string;

  @Field(() => String, { description: `Up to ${MAX_BODY_LENGTH.toLocaleString('en')} characters.` })
  @CharLength(0, MAX_BODY_LENGTH)
  body!: string;
}

@InputType()
export class UpdatePostInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @CharLength(1, 200)
  title?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @CharLength(0, MAX_BODY_LENGTH)
  body?: string | null;

  @Field(() => Int, { nullable: true, description: 'When given, the update fails with CONFLICT unless the post is at this version.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  expectedVersion?: number | null;
}

@ArgsType()
export class PostListArgs extends TrashFilterArgs {
  @Field(() => ID, { nullable: true, description: "Only this user's posts." })
  authorId?: string | null;
}
