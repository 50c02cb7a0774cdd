import { Migration } from '@mikro-orm/migrations';

/** The values a restore with onConflict RENAME replaced, recorded on its audit event. */
export class Migration20261129020000AuditRenames extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_events" add column "renames" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "audit_events" drop column "renames";`);
  }
}
