import { Migration } from '@mikro-orm/migrations';

export class Migration20261129000000CreateUsers extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "users" (
      "id" uuid not null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      "version" int not null default 1,
      "deleted_at" timestamptz null,
      "deleted_by" uuid null,
      "delete_reason" varchar(500) null,
      "deletion_id" uuid null,
      "username" varchar(32) not null,
      "email" varchar(254) not null,
      "display_name" varchar(100) null,
      constraint "users_pkey" primary key ("id"));`);
    this.addSql(`create unique index "users_username_live_unique" on "users" (lower("username")) where "deleted_at" is null;`);
    this.addSql(`create unique index "users_email_live_unique" on "users" (lower("email")) where "deleted_at" is null;`);
    this.addSql(`create index "users_live_order_idx" on "users" ("created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "users_trash_order_idx" on "users" ("deleted_at" desc, "id" desc) where "deleted_at" is not null;`);
    this.addSql(`create index "users_order_idx" on "users" ("created_at" desc, "id" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "users" cascade;`);
  }
}
