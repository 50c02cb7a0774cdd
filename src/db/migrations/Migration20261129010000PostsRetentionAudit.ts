import { Migration } from '@mikro-orm/migrations';

/** Posts that cascade with their author, retention (purge_at), deletion-id lookups and the audit trail. */
export class Migration20261129010000PostsRetentionAudit extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "purge_at" timestamptz null;`);
    this.addSql(`create index "users_purge_idx" on "users" ("purge_at") where "purge_at" is not null;`);
    this.addSql(`create index "users_deletion_idx" on "users" ("deletion_id") where "deletion_id" is not null;`);

    this.addSql(`create table "posts" (
      "id" uuid not null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      "version" int not null default 1,
      "deleted_at" timestamptz null,
      "deleted_by" uuid null,
      "delete_reason" varchar(500) null,
      "deletion_id" uuid null,
      "purge_at" timestamptz null,
      "author_id" uuid not null,
      "title" varchar(200) not null,
      "body" text not null,
      constraint "posts_pkey" primary key ("id"));`);
    this.addSql(
      `alter table "posts" add constraint "posts_author_id_foreign" foreign key ("author_id") references "users" ("id") on update cascade on delete no action;`,
    );
    this.addSql(`create index "posts_live_order_idx" on "posts" ("created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "posts_trash_order_idx" on "posts" ("deleted_at" desc, "id" desc) where "deleted_at" is not null;`);
    this.addSql(`create index "posts_order_idx" on "posts" ("created_at" desc, "id" desc);`);
    this.addSql(`create index "posts_author_live_order_idx" on "posts" ("author_id", "created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "posts_author_trash_order_idx" on "posts" ("author_id", "deleted_at" desc, "id" desc) where "deleted_at" is not null;`);
    this.addSql(`create index "posts_author_order_idx" on "posts" ("author_id", "created_at" desc, "id" desc);`);
    this.addSql(`create index "posts_deletion_idx" on "posts" ("deletion_id") where "deletion_id" is not null;`);
    this.addSql(`create index "posts_purge_idx" on "posts" ("purge_at") where "purge_at" is not null;`);

    this.addSql(`create table "audit_events" (
      "id" uuid not null,
      "action" varchar(16) not null,
      "entity_type" varchar(32) not null,
      "entity_id" uuid not null,
      "deletion_id" uuid null,
      "actor_id" uuid null,
      "reason" varchar(500) null,
      "affected" int not null,
      "at" timestamptz not null,
      constraint "audit_events_pkey" primary key ("id"));`);
    this.addSql(`create index "audit_events_order_idx" on "audit_events" ("at" desc, "id" desc);`);
    this.addSql(`create index "audit_events_entity_order_idx" on "audit_events" ("entity_id", "at" desc, "id" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_events";`);
    this.addSql(`drop table if exists "posts";`);
    this.addSql(`drop index if exists "users_deletion_idx";`);
    this.addSql(`drop index if exists "users_purge_idx";`);
    this.addSql(`alter table "users" drop column "purge_at";`);
  }
}
