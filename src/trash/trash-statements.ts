import type { EntityClass, EntityMetadata, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEvent } from '../audit/audit-event.entity';
import { auditInsertSql } from '../audit/audit.service';
import type { PreparedRead } from '../db/compiled/read-executor';
import {
  columnOf,
  columnTypeOf,
  compiledStatement,
  conditionShape,
  conditionSql,
  metadataOf,
  NamedParameters,
  Parameters,
  quote,
  rowToEntity,
  selectList,
  statementName,
} from '../db/compiled/read-sql';
import { transactionRows } from '../db/compiled/transaction-statements';
import type { AnyTrashPolicy } from './trash-policy';

/**
 * The statements of records' trips to the trash and back, built once per
 * entity from MikroORM's metadata and run inside the ORM's transaction
 * (db/compiled/transaction-statements.ts). These are the server's busiest
 * writes: through the unit of work, the QueryBuilder and knex they cost
 * several times the CPU of the SQL they send (see the README's Performance section).
 */

/** The trash columns every trashable entity has, as a move to the trash or a restore writes them. */
export interface TrashColumns {
  deletedAt: Date | null;
  deletedBy: string | null;
  deleteReason: string | null;
  deletionId: string | null;
  purgeAt: Date | null;
}

const trashProperties: ReadonlyArray<keyof TrashColumns> = ['deletedAt', 'deletedBy', 'deleteReason', 'deletionId', 'purgeAt'];

/**
 * The records with these ids that `visible` lets the principal see, locked
 * FOR UPDATE in id order (so concurrent calls cannot deadlock): plain
 * instances, not managed by the unit of work.
 */
export async function lockForChange<T extends object>(em: EntityManager, entity: EntityClass<T>, ids: readonly string[], visible: FilterQuery<T>): Promise<T[]> {
  const meta = metadataOf(em.getMetadata(), entity);
  const values: unknown[] = [ids];
  const shape = conditionShape(visible as FilterQuery<object>, values);
  const statement = compiledStatement(
    `lockForChange:${entity.name}:${shape.key}`,
    () => {
      const params = new Parameters();
      const id = `e.${quote(columnOf(meta, 'id'))}`;
      const conditions = [`${id} = any(${params.take()}::uuid[])`, conditionSql(meta, visible as FilterQuery<object>, 'e', params)];
      return `select ${selectList(meta, 'e')} from ${quote(meta.tableName)} as e where ${conditions.filter(Boolean).join(' and ')} order by ${id} for update`;
    },
    'write',
  );
  const rows = await transactionRows<Record<string, unknown>>(em, statement, values);
  return rows.map((row) => rowToEntity(meta, entity, row));
}

/** What one change of records' trash columns writes. */
export interface TrashColumnsChange {
  ids: readonly string[];
  /** The new trash columns, of the records and of the children they take along. */
  columns: TrashColumns;
  /**
   * Which children come along: the live ones (a move to the trash), or those
   * the records' deletion took (a restore, naming that deletion).
   */
  children: { live: true } | { trashedBy: string };
  now: Date;
  /** The audit events' values (`AuditLog.values`), one event per record; the statement counts each one's `affected`. */
  audit: Record<string, unknown>;
}

/**
 * Sets the trash columns of the records and of their children, each as a
 * change (version + 1, updatedAt), and writes one audit event per record
 * counting the rows it took along, in one statement: one UPDATE per table
 * whatever the number of records and children. Returns how many children
 * each record took along (records without children are absent).
 */
export async function changeTrashColumns(em: EntityManager, policy: AnyTrashPolicy, change: TrashColumnsChange): Promise<Map<string, number>> {
  const { statement, params } = changeStatementOf(em, policy, 'live' in change.children ? 'trash' : 'restore');
  const values = params.valuesOf({
    ...change.audit,
    ...change.columns,
    ids: change.ids,
    now: change.now,
    trashedBy: 'trashedBy' in change.children ? change.children.trashedBy : null,
  });
  const rows = await transactionRows<{ id: string; cascaded: number }>(em, statement, values);
  return new Map(rows.map((row) => [row.id, row.cascaded]));
}

interface NamedStatement {
  statement: PreparedRead;
  params: NamedParameters;
}

const changeStatements = new Map<string, NamedStatement>();

function changeStatementOf(em: EntityManager, policy: AnyTrashPolicy, direction: 'trash' | 'restore'): NamedStatement {
  const key = `${policy.typeName}:${direction}`;
  let named = changeStatements.get(key);
  if (!named) {
    const params = new NamedParameters();
    const text = changeSql(em, policy, direction, params);
    named = { statement: { name: statementName(text, 'write'), text }, params };
    changeStatements.set(key, named);
  }
  return named;
}

function changeSql(em: EntityManager, policy: AnyTrashPolicy, direction: 'trash' | 'restore', params: NamedParameters): string {
  const metadata = em.getMetadata();
  const assignments = (meta: EntityMetadata) => {
    const column = (property: string) => quote(columnOf(meta, property));
    return [
      ...trashProperties.map((property) => `${column(property)} = ${params.take(property, columnTypeOf(meta, property))}`),
      `${column('updatedAt')} = ${params.take('now', columnTypeOf(meta, 'updatedAt'))}`,
      `${column('version')} = ${column('version')} + 1`,
    ].join(', ');
  };
  const children = policy.cascadesTo().map((child, index) => {
    const meta = metadataOf(metadata, child.policy.entity);
    const column = (property: string) => quote(columnOf(meta, property));
    const parent = column(child.parentProperty);
    const selected =
      direction === 'trash'
        ? `${column('deletedAt')} is null`
        : `${column('deletionId')} = ${params.take('trashedBy', columnTypeOf(meta, 'deletionId'))} and ${column('deletedAt')} is not null`;
    return `"child${index}" as (update ${quote(meta.tableName)} set ${assignments(meta)}
      where ${parent} = any(${params.take('ids', 'uuid[]')}) and ${selected} returning ${parent} as "parent")`;
  });
  const meta = metadataOf(metadata, policy.entity);
  const record = `"record" as (update ${quote(meta.tableName)} set ${assignments(meta)} where ${quote(columnOf(meta, 'id'))} = any(${params.take('ids', 'uuid[]')}))`;
  const taken = children.length > 0 ? children.map((_, index) => `select "parent" from "child${index}"`).join(' union all ') : 'select null::uuid as "parent" where false';
  const cascaded = `"cascaded" as (select "parent", count(*)::int as "rows" from (${taken}) as taken group by "parent")`;
  const audit = `"audit" as (${auditInsertSql(metadataOf(metadata, AuditEvent), params, {
    affected: `1 + coalesce("cascaded"."rows", 0)`,
    joins: `left join "cascaded" on "cascaded"."parent" = "event"."entityId"`,
  })})`;
  return `with ${[...children, record, cascaded, audit].join(',\n')}\nselect "parent" as "id", "rows" as "cascaded" from "cascaded"`;
}
