import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for searching the trash, all partial on `deleted_at IS NOT NULL`, so
 * live rows neither pay for them on write nor make them larger: trigram GIN
 * indexes for the substring search, and (deleted_by, deleted_at, id) for
 * "trashed by". The deletion id and deleted_at range filters use the existing
 * deletion and trash order indexes. pg_trgm is a trusted extension: the
 * database owner may create it.
 */
export class Migration20261129040000TrashSearch extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(
      `create index "users_trash_search_idx" on "users" using gin ("username" gin_trgm_ops, "email" gin_trgm_ops, "display_name" gin_trgm_ops) where "deleted_at" is not null;`,
    );
    this.addSql(`create index "posts_trash_search_idx" on "posts" using gin ("title" gin_trgm_ops) where "deleted_at" is not null;`);
    this.addSql(`create index "users_trash_deleted_by_idx" on "users" ("deleted_by", "deleted_at" desc, "id" desc) where "deleted_at" is not null;`);
    this.addSql(`create index "posts_trash_deleted_by_idx" on "posts" ("deleted_by", "deleted_at" desc, "id" desc) where "deleted_at" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "posts_trash_deleted_by_idx";`);
    this.addSql(`drop index if exists "users_trash_deleted_by_idx";`);
    this.addSql(`drop index if exists "posts_trash_search_idx";`);
    this.addSql(`drop index if exists "users_trash_search_idx";`);
  }
}
