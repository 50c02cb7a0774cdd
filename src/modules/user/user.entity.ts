import { Entity, Index, Property, Unique } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { Trashable, TrashableEntity } from '../../trash/trashable.entity';
import { Node } from '../../graphql/node.interface';

@ObjectType({
  implements: [Node, Trashable],
  // No middlewares or auth checker run on plain fields: type-graphql can skip its per-field wrapper.
  simpleResolvers: true,
  description: 'A person with an account. Deleting a user moves it to the trash, from where it can be restored.',
})
@Entity({ tableName: 'users' })
@Unique({
  name: 'users_username_live_unique',
  expression: 'create unique index "users_username_live_unique" on "users" (lower("username")) where "deleted_at" is null',
})
@Unique({
  name: 'users_email_live_unique',
  expression: 'create unique index "users_email_live_unique" on "users" (lower("email")) where "deleted_at" is null',
})
// Serves the default listing (live users, newest first) without touching trashed rows.
@Index({
  name: 'users_live_order_idx',
  expression: 'create index "users_live_order_idx" on "users" ("created_at" desc, "id" desc) where "deleted_at" is null',
})
// Serves onlyDeleted listings, newest deletion first.
@Index({
  name: 'users_trash_order_idx',
  expression: 'create index "users_trash_order_idx" on "users" ("deleted_at" desc, "id" desc) where "deleted_at" is not null',
})
// Serves includeDeleted listings.
@Index({
  name: 'users_order_idx',
  expression: 'create index "users_order_idx" on "users" ("created_at" desc, "id" desc)',
})
@Index({
  name: 'users_deletion_idx',
  expression: 'create index "users_deletion_idx" on "users" ("deletion_id") where "deletion_id" is not null',
})
@Index({
  name: 'users_purge_idx',
  expression: 'create index "users_purge_idx" on "users" ("purge_at") where "purge_at" is not null',
})
// Searching the trash: substrings of username, email and displayName (pg_trgm), and "trashed by".
@Index({
  name: 'users_trash_search_idx',
  expression:
    'create index "users_trash_search_idx" on "users" using gin ("username" gin_trgm_ops, "email" gin_trgm_ops, "display_name" gin_trgm_ops) where "deleted_at" is not null',
})
@Index({
  name: 'users_trash_deleted_by_idx',
  expression: 'create index "users_trash_deleted_by_idx" on "users" ("deleted_by", "deleted_at" desc, "id" desc) where "deleted_at" is not null',
})
export class User extends TrashableEntity {
  @Field(() => String, { description: 'Unique among live users, ignoring case; case is preserved.' })
  @Property({ type: 'string', length: 32 })
  username!: string;

  @Field(() => String, { description: 'Unique among live users, ignoring case.' })
  @Property({ type: 'string', length: 254 })
  email!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'string', length: 100, nullable: true })
  displayName: string | null = null;
}
