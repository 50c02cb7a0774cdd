import { Migration } from '@mikro-orm/migrations';

/** The parent id under which a table's own total is kept. */
const TABLE_TOTAL = `'00000000-0000-0000-0000-000000000000'::uuid`;
/** Slots per table total: concurrent writers add to different rows, so no single row is hot. */
const TOTAL_SLOTS = 16;

/**
 * Exact live and trashed row counts, kept by statement-level triggers in the
 * same transaction as every insert, move to or from the trash, and purge, so
 * a `totalCount` is a read of a few rows instead of a scan. Each table has a
 * total spread over slots (one per backend, summed on read) and, for a table
 * with a parent, one row per parent.
 */
export class Migration20261129030000RowCounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "row_counts" (
      "table_name" varchar(63) not null,
      "parent_id" uuid not null,
      "slot" smallint not null,
      "live" bigint not null default 0,
      "trashed" bigint not null default 0,
      constraint "row_counts_pkey" primary key ("table_name", "parent_id", "slot"));`);
    const tables = [
      { table: 'users', parentColumn: undefined },
      { table: 'posts', parentColumn: 'author_id' },
    ];
    for (const { table, parentColumn } of tables) {
      for (const statement of countingTriggers(table, parentColumn)) this.addSql(statement);
    }
    // For loads that bypass triggers (session_replication_role = replica): counts everything again.
    this.addSql(`create function "row_counts_rebuild"() returns void language sql as $$
      delete from "row_counts";
      ${tables.map(({ table, parentColumn }) => recount(table, parentColumn)).join('\n      ')}
    $$;`);
    this.addSql(`select "row_counts_rebuild"();`);
  }

  override async down(): Promise<void> {
    for (const table of ['users', 'posts']) {
      this.addSql(`drop trigger if exists "${table}_row_counts_insert" on "${table}";`);
      this.addSql(`drop trigger if exists "${table}_row_counts_update" on "${table}";`);
      this.addSql(`drop trigger if exists "${table}_row_counts_delete" on "${table}";`);
      this.addSql(`drop trigger if exists "${table}_row_counts_truncate" on "${table}";`);
      this.addSql(`drop function if exists "${table}_row_counts_apply"();`);
      this.addSql(`drop function if exists "${table}_row_counts_reset"();`);
    }
    this.addSql(`drop function if exists "row_counts_rebuild"();`);
    this.addSql(`drop table if exists "row_counts";`);
  }
}

/** Triggers and their functions for one table. */
function countingTriggers(table: string, parentColumn: string | undefined): string[] {
  const parent = parentColumn ? `"${parentColumn}"` : TABLE_TOTAL;
  // Each changed row counts +1 where it is now and -1 where it was, per parent.
  const delta = (rows: string) => `select ${parent} as parent_id,
           count(*) filter (where "deleted_at" is null) * sign as live,
           count(*) filter (where "deleted_at" is not null) * sign as trashed
      from ${rows} group by 1, sign`;
  const apply = (rows: string) => `
    insert into "row_counts" as c ("table_name", "parent_id", "slot", "live", "trashed")
    select '${table}', parent_id, slot, live, trashed from (
      select ${TABLE_TOTAL} as parent_id, (pg_backend_pid() % ${TOTAL_SLOTS})::smallint as slot, sum(live) as live, sum(trashed) as trashed
        from (${delta(rows)}) d
      ${parentColumn ? `union all select parent_id, 0::smallint, sum(live), sum(trashed) from (${delta(rows)}) d group by parent_id` : ''}
    ) changes
    where live <> 0 or trashed <> 0
    -- One order for every writer, so two transactions never wait on each other's rows in a cycle.
    order by parent_id, slot
    on conflict ("table_name", "parent_id", "slot")
    do update set "live" = c."live" + excluded."live", "trashed" = c."trashed" + excluded."trashed";`;
  const signed = (transition: string, sign: number) => `(select *, ${sign} as sign from ${transition})`;
  return [
    `create function "${table}_row_counts_apply"() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        ${apply(`${signed('new_rows', 1)} r`)}
      elsif tg_op = 'DELETE' then
        ${apply(`${signed('old_rows', -1)} r`)}
        ${
          parentColumn
            ? // A purged parent leaves no empty counter rows behind.
              `delete from "row_counts" where "table_name" = '${table}' and "live" = 0 and "trashed" = 0
                 and "parent_id" in (select distinct ${parent} from old_rows);`
            : ''
        }
      else
        ${apply(`(select * from ${signed('new_rows', 1)} n union all select * from ${signed('old_rows', -1)} o) r`)}
      end if;
      return null;
    end $$;`,
    `create function "${table}_row_counts_reset"() returns trigger language plpgsql as $$
    begin
      delete from "row_counts" where "table_name" = '${table}';
      return null;
    end $$;`,
    `create trigger "${table}_row_counts_insert" after insert on "${table}" referencing new table as new_rows
      for each statement execute function "${table}_row_counts_apply"();`,
    `create trigger "${table}_row_counts_update" after update on "${table}" referencing old table as old_rows new table as new_rows
      for each statement execute function "${table}_row_counts_apply"();`,
    `create trigger "${table}_row_counts_delete" after delete on "${table}" referencing old table as old_rows
      for each statement execute function "${table}_row_counts_apply"();`,
    `create trigger "${table}_row_counts_truncate" after truncate on "${table}"
      for each statement execute function "${table}_row_counts_reset"();`,
  ];
}

/** The counts of what one table holds now, as a whole and per parent. */
function recount(table: string, parentColumn: string | undefined): string {
  const counted = `count(*) filter (where "deleted_at" is null), count(*) filter (where "deleted_at" is not null)`;
  const total = `insert into "row_counts" ("table_name", "parent_id", "slot", "live", "trashed") select '${table}', ${TABLE_TOTAL}, 0, ${counted} from "${table}";`;
  if (!parentColumn) return total;
  return `${total}
      insert into "row_counts" ("table_name", "parent_id", "slot", "live", "trashed") select '${table}', "${parentColumn}", 0, ${counted} from "${table}" group by "${parentColumn}";`;
}
