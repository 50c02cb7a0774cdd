import { CharLength } from '../../validation/char-length';
import { IsEmail, IsInt, IsOptional, Matches, Min } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';

export const USERNAME_MAX_LENGTH = 32;
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
const usernameRule = 'must be 3 to 32 characters of letters, digits, "_", "." or "-"';

@InputType()
export class CreateUserInput {
  @Field(() => String, { description: '3-32 characters of [A-Za-z0-9_.-].' })
  @Matches(USERNAME_PATTERN, { message: usernameRule })
  username!: string;

  @Field(() => String)
  @IsEmail({}, { message: 'must be a valid email address' })
  @CharLength(0, 254)
  email!: string;

  @Field(() => String, { nullable: true, description: 'At most 100 characters.' })
  @IsOptional()
  @CharLength(0, 100)
  displayName?: string | null;
}

@InputType()
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(USERNAME_PATTERN, { message: usernameRule })
  username?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsEmail({}, { message: 'must be a valid email address' })
  @CharLength(0, 254)
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'At most 100 characters; null clears it.' })
  @IsOptional()
  @CharLength(0, 100)
  displayName?: string | null;

  @Field(() => Int, { nullable: true, description: 'When given, the update fails with CONFLICT unless the user is at this version.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  expectedVersion?: number | null;
}
