import { Matches, ValidateIf } from 'class-validator';
import { Field, ID, InputType, registerEnumType } from 'type-graphql';
import { CharLength } from '../../validation/char-length';

/** The kinds of records in the trash; the values are the trash policies' type names. */
export enum TrashItemType {
  USER = 'User',
  POST = 'Post',
}

registerEnumType(TrashItemType, { name: 'TrashItemType', description: 'A kind of record that can be in the trash.' });

const MIN_SEARCH_LENGTH = 3;
/** The longest value the search could match (an email address). */
const MAX_SEARCH_LENGTH = 254;

@InputType({ description: 'Narrows the trash listing; every condition given must hold.' })
export class TrashFilter {
  @Field(() => [TrashItemType], { nullable: true, description: 'Only these kinds of records; every kind when omitted, none when empty.' })
  types?: TrashItemType[] | null;

  @Field(() => ID, { nullable: true, description: 'Only records this principal moved to the trash.' })
  deletedBy?: string | null;

  @Field(() => Date, { nullable: true, description: 'Only records moved to the trash at or after this instant.' })
  deletedAfter?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Only records moved to the trash before this instant.' })
  deletedBefore?: Date | null;

  @Field(() => ID, { nullable: true, description: 'Only the records of this deletion.' })
  deletionId?: string | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of username, email, displayName or title.' })
  // Trigrams need three characters: a shorter term could not use the search index. An empty one matches everything.
  @ValidateIf((filter: TrashFilter) => filter.search != null && filter.search !== '')
  @CharLength(MIN_SEARCH_LENGTH, MAX_SEARCH_LENGTH)
  // PostgreSQL cannot take a NUL character in a text parameter.
  @Matches(/^[^\u0000]*$/, { message: 'must not contain NUL characters' })
  search?: string | null;
}
