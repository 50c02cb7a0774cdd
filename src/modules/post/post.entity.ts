import { Entity, Index, ManyToOne, Property, type Rel } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { Trashable, TrashableEntity } from '../../trash/trashable.entity';
import { Node } from '../../graphql/node.interface';
import { User } from '../user/user.entity';

@ObjectType({ implements: [Node, Trashable], simpleResolvers: true, description: 'Written by a user; trashed, restored and purged together with its author.' })
@Entity({ tableName: 'posts' })
@Index({
  name: 'posts_live_order_idx',
  expression: 'create index "posts_live_order_idx" on "posts" ("created_at" desc, "id" desc) where "deleted_at" is null',
})
@Index({
  name: 'posts_trash_order_idx',
  expression: 'create index "posts_trash_order_idx" on "posts" ("deleted_at" desc, "id" desc) where "deleted_at" is not null',
})
@Index({ name: 'posts_order_idx', expression: 'create index "posts_order_idx" on "posts" ("created_at" desc, "id" desc)' })
// An author's posts in each listing's order; also serves the cascade's "live posts of this author".
@Index({
  name: 'posts_author_live_order_idx',
  expression:
    'create index "posts_author_live_order_idx" on "posts" ("author_id", "created_at" desc, "id" desc) where "deleted_at" is null',
})
@Index({
  name: 'posts_author_trash_order_idx',
  expression:
    'create index "posts_author_trash_order_idx" on "posts" ("author_id", "deleted_at" desc, "id" desc) where "deleted_at" is not null',
})
@Index({
  name: 'posts_author_order_idx',
  expression: 'create index "posts_author_order_idx" on "posts" ("author_id", "created_at" desc, "id" desc)',
})
@Index({
  name: 'posts_deletion_idx',
  expression: 'create index "posts_deletion_idx" on "posts" ("deletion_id") where "deletion_id" is not null',
})
@Index({
  name: 'posts_purge_idx',
  expression: 'create index "posts_purge_idx" on "posts" ("purge_at") where "purge_at" is not null',
})
// Searching the trash: substrings of the title (pg_trgm), and "trashed by".
@Index({
  name: 'posts_trash_search_idx',
  expression: 'create index "posts_trash_search_idx" on "posts" using gin ("title" gin_trgm_ops) where "deleted_at" is not null',
})
@Index({
  name: 'posts_trash_deleted_by_idx',
  expression: 'create index "posts_trash_deleted_by_idx" on "posts" ("deleted_by", "deleted_at" desc, "id" desc) where "deleted_at" is not null',
})
export class Post extends TrashableEntity {
  /** Resolved by a field resolver that also finds trashed authors; see PostResolver. */
  @ManyToOne(() => User, { deleteRule: 'no action' })
  author!: Rel<User>;

  @Field(() => String)
  @Property({ type: 'string', length: 200 })
  title!: string;

  @Field(() => String)
  @Property({ type: 'text' })
  body!: string;
}
