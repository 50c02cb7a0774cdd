import type { EntityClass, EntityMetadata, FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEvent } from '../audit/audit-event.entity';
import { auditInsertSql } from '../audit/audit.service';
import {
  columnOf,
  columnTypeOf,
  compiledNamedStatement,
  compiledStatement,
  conditionShape,
  conditionSql,
  metadataOf,
  NamedParameters,
  Parameters,
  quote,
  rowToEntity,
  selectList,
} from '../db/compiled/read-sql';
import { transactionRows } from '../db/compiled/transaction-statements';
import type { AnyTrashPolicy } from './trash-policy';
import type { TrashableEntity } from './trashable.entity';

/**
 * The statements of records' trips to the trash and back, and of purges,
 * built once per entity from MikroORM's metadata and run inside the ORM's
 * transaction (db/compiled/transaction-statements.ts). These are the server's
 * busiest writes: through the unit of work, the QueryBuilder and knex they
 * cost several times the CPU of the SQL they send (see the README's Performance section).
 */

/** The trash columns every trashable entity has, as a move to the trash or a restore writes them. */
export interface TrashColumns {
  deletedAt: Date | null;
  deletedBy: string | null;
  deleteReason: string | null;
  deletionId: string | null;
  purgeAt: Date | null;
}

/** The trash columns of a live record. */
export const liveColumns: Readonly<TrashColumns> = { deletedAt: null, deletedBy: null, deleteReason: null, deletionId: null, purgeAt: null };

const trashProperties = Object.keys(liveColumns) as Array<keyof TrashColumns>;

/**
 * How many records a statement names: one, compared as `= $n`, or any number,
 * as `= any($n)` with an array. A prepared statement comparing with an array
 * is planned again at every run: PostgreSQL's generic plan assumes ten
 * elements, which never costs less than the plan made for the actual array.
 * With one value, the generic plan is the same as the actual one and is kept,
 * so a change of one record (the common case) is planned once per connection.
 */
type RecordCount = 'one' | 'many';

const countOf = (ids: readonly string[]): RecordCount => (ids.length === 1 ? 'one' : 'many');

/**
 * `column` is one of the records' ids, compared with the value `placeholder`
 * binds as the type it is given: `idsValue`, the id itself for one record,
 * the array for several (see `RecordCount`).
 */
function amongIds(column: string, count: RecordCount, placeholder: (type: 'uuid' | 'uuid[]') => string): string {
  return count === 'one' ? `${column} = ${placeholder('uuid')}` : `${column} = any(${placeholder('uuid[]')})`;
}

/** The value `amongIds` compares with. */
const idsValue = (ids: readonly string[]): string | readonly string[] => (countOf(ids) === 'one' ? ids[0] : ids);

/** `amongIds`' placeholder in a statement with named values: the value named `ids`. */
const idsByName = (params: NamedParameters) => (type: string) => params.take('ids', type);

/**
 * The records with the ids bound first that `visible` lets the principal
 * see, as a condition on alias `e`: the statement's cache key and its values,
 * the ids first.
 */
function visibleWithIds<T extends object>(meta: EntityMetadata, ids: readonly string[], visible: FilterQuery<T>) {
  const count = countOf(ids);
  const values: unknown[] = [idsValue(ids)];
  const shape = conditionShape(visible as FilterQuery<object>, values);
  const where = () => {
    const params = new Parameters();
    const among = amongIds(`e.${quote(columnOf(meta, 'id'))}`, count, (type) => `${params.take()}::${type}`);
    return [among, conditionSql(meta, visible as FilterQuery<object>, 'e', params)].filter(Boolean).join(' and ');
  };
  return { key: `${count}:${shape.key}`, values, where };
}

/**
 * The records with these ids that `visible` lets the principal see, locked
 * FOR UPDATE in id order (so concurrent calls cannot deadlock): plain
 * instances, not managed by the unit of work.
 */
export async function lockForChange<T extends object>(em: EntityManager, entity: EntityClass<T>, ids: readonly string[], visible: FilterQuery<T>): Promise<T[]> {
  const meta = metadataOf(em.getMetadata(), entity);
  const records = visibleWithIds(meta, ids, visible);
  const statement = compiledStatement(
    `lockForChange:${entity.name}:${records.key}`,
    () => `select ${selectList(meta, 'e')} from ${quote(meta.tableName)} as e where ${records.where()} order by e.${quote(columnOf(meta, 'id'))} for update`,
    'write',
  );
  const rows = await transactionRows<Record<string, unknown>>(em, statement, records.values);
  return rows.map((row) => rowToEntity(meta, entity, row));
}

/**
 * Share-locks the parent the record with this id points at through
 * `property` (a post's author), when `visible` lets the principal see the
 * record: the parent cannot go to the trash while the change runs. Parents
 * are locked before the record itself, keeping the parent-before-child lock order.
 */
export async function shareLockParentOf<T extends object>(
  em: EntityManager,
  entity: EntityClass<T>,
  parent: { entity: EntityClass<object>; property: string },
  id: string,
  visible: FilterQuery<T>,
): Promise<void> {
  const meta = metadataOf(em.getMetadata(), entity);
  const record = visibleWithIds(meta, [id], visible);
  const statement = compiledStatement(
    `shareLockParentOf:${entity.name}:${parent.property}:${record.key}`,
    () => {
      const parentMeta = metadataOf(em.getMetadata(), parent.entity);
      const parentId = `select e.${quote(columnOf(meta, parent.property))} from ${quote(meta.tableName)} as e where ${record.where()}`;
      return `select 1 from ${quote(parentMeta.tableName)} as p where p.${quote(columnOf(parentMeta, 'id'))} = (${parentId}) for share`;
    },
    'write',
  );
  await transactionRows(em, statement, record.values);
}

/** What one change of records' trash columns writes. */
export interface TrashColumnsChange {
  /** Locked already; left as the statement leaves their rows (trash columns, `updatedAt`, `version`). */
  records: readonly TrashableEntity[];
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
  const direction = 'live' in change.children ? 'trash' : 'restore';
  const ids = change.records.map((record) => record.id);
  const count = countOf(ids);
  const { statement, params } = compiledNamedStatement(`trashColumns:${policy.typeName}:${direction}:${count}`, (params) => changeSql(em, policy, direction, count, params), 'write');
  const values = params.valuesOf({
    ...change.audit,
    ...change.columns,
    ids: idsValue(ids),
    now: change.now,
    trashedBy: 'trashedBy' in change.children ? change.children.trashedBy : null,
  });
  const rows = await transactionRows<{ id: string; cascaded: number }>(em, statement, values);
  applyChange(change.records, change.columns, change.now);
  return new Map(rows.map((row) => [row.id, row.cascaded]));
}

/**
 * Takes every row of `policy`'s table that the deletion took out of the trash
 * (restoreDeletion), as a change, with one UPDATE; `records` are those rows,
 * locked already. Returns the rows touched.
 */
export async function restoreDeletionRows(em: EntityManager, policy: AnyTrashPolicy, deletionId: string, records: readonly TrashableEntity[], now: Date): Promise<number> {
  const { statement, params } = compiledNamedStatement(
    `restoreDeletion:${policy.typeName}`,
    (params) => {
      const meta = metadataOf(em.getMetadata(), policy.entity);
      const column = (property: string) => quote(columnOf(meta, property));
      return `with "restored" as (update ${quote(meta.tableName)} set ${changeAssignments(meta, params)}
          where ${column('deletionId')} = ${params.take('trashedBy', columnTypeOf(meta, 'deletionId'))} and ${column('deletedAt')} is not null returning 1)
        select count(*)::int as "rows" from "restored"`;
    },
    'write',
  );
  const [restored] = await transactionRows<{ rows: number }>(em, statement, params.valuesOf({ ...liveColumns, now, trashedBy: deletionId }));
  applyChange(records, liveColumns, now);
  return restored.rows;
}

/** The objects of changed records, as the statement left their rows. */
function applyChange(records: readonly TrashableEntity[], columns: Readonly<TrashColumns>, now: Date): void {
  for (const record of records) Object.assign(record, columns, { updatedAt: now, version: record.version + 1 });
}

/** The SET list of a change of the trash columns (bound by name), `updatedAt` (bound as `now`) and `version + 1`. */
function changeAssignments(meta: EntityMetadata, params: NamedParameters): string {
  const column = (property: string) => quote(columnOf(meta, property));
  return [
    ...trashProperties.map((property) => `${column(property)} = ${params.take(property, columnTypeOf(meta, property))}`),
    `${column('updatedAt')} = ${params.take('now', columnTypeOf(meta, 'updatedAt'))}`,
    `${column('version')} = ${column('version')} + 1`,
  ].join(', ');
}

function changeSql(em: EntityManager, policy: AnyTrashPolicy, direction: 'trash' | 'restore', count: RecordCount, params: NamedParameters): string {
  const metadata = em.getMetadata();
  const assignments = (meta: EntityMetadata) => changeAssignments(meta, params);
  const children = policy.cascadesTo().map((child, index) => {
    const meta = metadataOf(metadata, child.policy.entity);
    const column = (property: string) => quote(columnOf(meta, property));
    const parent = column(child.parentProperty);
    const selected =
      direction === 'trash'
        ? `${column('deletedAt')} is null`
        : `${column('deletionId')} = ${params.take('trashedBy', columnTypeOf(meta, 'deletionId'))} and ${column('deletedAt')} is not null`;
    return `"child${index}" as (update ${quote(meta.tableName)} set ${assignments(meta)}
      where ${amongIds(parent, count, idsByName(params))} and ${selected} returning ${parent} as "parent")`;
  });
  const meta = metadataOf(metadata, policy.entity);
  const record = `"record" as (update ${quote(meta.tableName)} set ${assignments(meta)} where ${amongIds(quote(columnOf(meta, 'id')), count, idsByName(params))})`;
  const audit = `"audit" as (${auditInsertSql(metadataOf(metadata, AuditEvent), params, {
    computed: { affected: `1 + coalesce("cascaded"."rows", 0)` },
    joins: `left join "cascaded" on "cascaded"."parent" = "event"."entityId"`,
  })})`;
  return `with ${[...children, record, cascadedSql(children.length), audit].join(',\n')}\nselect "parent" as "id", "rows" as "cascaded" from "cascaded"`;
}

/** Rows the children's statements `"child0"`, `"child1"`, ... returned, counted per parent (`"parent"`, `"rows"`). */
function cascadedSql(childTables: number): string {
  const taken =
    childTables > 0
      ? Array.from({ length: childTables }, (_, index) => `select "parent" from "child${index}"`).join(' union all ')
      : 'select null::uuid as "parent" where false';
  return `"cascaded" as (select "parent", count(*)::int as "rows" from (${taken}) as taken group by "parent")`;
}

/** A record purged with its children. */
export interface PurgedRows {
  id: string;
  deletionId: string | null;
  /** The record and its children. */
  removed: number;
}

/**
 * Deletes the records and all of their children in one statement (children
 * first within it; the foreign keys are checked at its end), clears the
 * renames, the only record data audit events hold, from the records' earlier
 * events, and writes one PURGE event per record removed, naming its deletion.
 * Records already gone are left out.
 */
export async function purgeRows(em: EntityManager, policy: AnyTrashPolicy, ids: readonly string[], audit: Record<string, unknown>): Promise<PurgedRows[]> {
  const count = countOf(ids);
  const named = compiledNamedStatement(`purge:${policy.typeName}:${count}`, (params) => purgeSql(em, policy, count, params), 'write');
  return transactionRows<PurgedRows>(em, named.statement, named.params.valuesOf({ ...audit, ids: idsValue(ids) }));
}

function purgeSql(em: EntityManager, policy: AnyTrashPolicy, count: RecordCount, params: NamedParameters): string {
  const metadata = em.getMetadata();
  const children = policy.cascadesTo().map((child, index) => {
    const meta = metadataOf(metadata, child.policy.entity);
    const parent = quote(columnOf(meta, child.parentProperty));
    return `"child${index}" as (delete from ${quote(meta.tableName)} where ${amongIds(parent, count, idsByName(params))} returning ${parent} as "parent")`;
  });
  const meta = metadataOf(metadata, policy.entity);
  const record = `"record" as (delete from ${quote(meta.tableName)} where ${amongIds(quote(columnOf(meta, 'id')), count, idsByName(params))}
      returning ${quote(columnOf(meta, 'id'))} as "id", ${quote(columnOf(meta, 'deletionId'))} as "deletionId")`;
  const auditMeta = metadataOf(metadata, AuditEvent);
  const renames = quote(columnOf(auditMeta, 'renames'));
  const cleared = `"cleared" as (update ${quote(auditMeta.tableName)} set ${renames} = null
      where ${renames} is not null and ${amongIds(quote(columnOf(auditMeta, 'entityId')), count, idsByName(params))})`;
  const audit = `"audit" as (${auditInsertSql(auditMeta, params, {
    computed: { affected: `1 + coalesce("cascaded"."rows", 0)`, deletionId: `"record"."deletionId"` },
    joins: `join "record" on "record"."id" = "event"."entityId" left join "cascaded" on "cascaded"."parent" = "event"."entityId"`,
  })})`;
  return `with ${[...children, record, cleared, cascadedSql(children.length), audit].join(',\n')}
    select "record"."id", "record"."deletionId", 1 + coalesce("cascaded"."rows", 0) as "removed"
      from "record" left join "cascaded" on "cascaded"."parent" = "record"."id"`;
}
