import type { EntityClass, FilterQuery } from '@mikro-orm/core';
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
 * The statements of a single record's trip to the trash and back, built once
 * per entity from MikroORM's metadata and run inside the ORM's transaction
 * (db/compiled/transaction-statements.ts). These are the server's busiest
 * writes: through the unit of work, the QueryBuilder and knex they cost ten
 * times the CPU of the SQL they send (see the README's Performance section).
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
 * The record with this id, when `visible` lets the principal see it, locked
 * FOR UPDATE: a plain instance, not managed by the unit of work.
 */
export async function lockForChange<T extends object>(em: EntityManager, entity: EntityClass<T>, id: string, visible: FilterQuery<T>): Promise<T | null> {
  const meta = metadataOf(em.getMetadata(), entity);
  const values: unknown[] = [id];
  const shape = conditionShape(visible as FilterQuery<object>, values);
  const statement = compiledStatement(
    `lockForChange:${entity.name}:${shape.key}`,
    () => {
      const params = new Parameters();
      const conditions = [`e.${quote(columnOf(meta, 'id'))} = ${params.take()}::uuid`, conditionSql(meta, visible as FilterQuery<object>, 'e', params)];
      return `select ${selectList(meta, 'e')} from ${quote(meta.tableName)} as e where ${conditions.filter(Boolean).join(' and ')} for update`;
    },
    'write',
  );
  const [row] = await transactionRows<Record<string, unknown>>(em, statement, values);
  return row ? rowToEntity(meta, entity, row) : null;
}

/** What one change of a record's trash columns writes. */
export interface TrashColumnsChange {
  id: string;
  /** The new trash columns, of the record and of the children it takes along. */
  columns: TrashColumns;
  /**
   * Which children come along: the live ones (a move to the trash), or those
   * the record's deletion took (a restore, naming that deletion).
   */
  children: { live: true } | { trashedBy: string };
  now: Date;
  /** The audit event's values (`AuditLog.values`); its `affected` counts the record and its children. */
  audit: Record<string, unknown>;
}

/**
 * Sets the trash columns of the record and of its children, each as a change
 * (version + 1, updatedAt), and writes the audit event, in one statement; one
 * UPDATE per child table whatever the number of children. Returns how many
 * children came along.
 */
export async function changeTrashColumns(em: EntityManager, policy: AnyTrashPolicy, change: TrashColumnsChange): Promise<number> {
  const { statement, params } = changeStatementOf(em, policy, 'live' in change.children ? 'trash' : 'restore');
  const values = params.valuesOf({
    ...change.audit,
    ...change.columns,
    id: change.id,
    now: change.now,
    trashedBy: 'trashedBy' in change.children ? change.children.trashedBy : null,
  });
  const [row] = await transactionRows<{ cascaded: number }>(em, statement, values);
  return row.cascaded;
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
  const updates: string[] = [];
  const update = (entity: EntityClass<object>, condition: (meta: ReturnType<typeof metadataOf>) => string) => {
    const meta = metadataOf(metadata, entity);
    const column = (property: string) => quote(columnOf(meta, property));
    const assignments = trashProperties.map((property) => `${column(property)} = ${params.take(property, columnTypeOf(meta, property))}`);
    assignments.push(`${column('updatedAt')} = ${params.take('now', columnTypeOf(meta, 'updatedAt'))}`, `${column('version')} = ${column('version')} + 1`);
    updates.push(`update ${quote(meta.tableName)} set ${assignments.join(', ')} where ${condition(meta)} returning 1`);
  };
  policy.cascadesTo().forEach((child) =>
    update(child.policy.entity, (meta) => {
      const column = (property: string) => quote(columnOf(meta, property));
      const byParent = `${column(child.parentProperty)} = ${params.take('id', columnTypeOf(meta, child.parentProperty))}`;
      return direction === 'trash'
        ? `${byParent} and ${column('deletedAt')} is null`
        : `${byParent} and ${column('deletionId')} = ${params.take('trashedBy', columnTypeOf(meta, 'deletionId'))} and ${column('deletedAt')} is not null`;
    }),
  );
  update(policy.entity, (meta) => `${quote(columnOf(meta, 'id'))} = ${params.take('id', 'uuid')}`);
  const children = updates.slice(0, -1).map((_, index) => `(select count(*) from "child${index}")`);
  const cascaded = children.length > 0 ? children.join(' + ') : '0';
  const parts = updates.map((sql, index) => (index < updates.length - 1 ? `"child${index}" as (${sql})` : `"record" as (${sql})`));
  parts.push(`"audit" as (${auditInsertSql(metadataOf(metadata, AuditEvent), params, `1 + ${cascaded}`)})`);
  return `with ${parts.join(',\n')}\nselect (${cascaded})::int as "cascaded"`;
}
