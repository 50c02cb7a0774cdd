import type { EntityClass, EntityMetadata, MetadataStorage } from '@mikro-orm/core';
import type { KeysetQuery } from '../keyset';
import { pageShape, pageSql } from './keyset-reads';
import type { ReadExecutor } from './read-executor';
import { columnOf, compiledStatement, conditionShape, conditionSql, filterCondition, literal, metadataOf, Parameters, quote } from './read-sql';

/**
 * Reads whose answer PostgreSQL writes itself, as the JSON text of the
 * response: the rows are never parsed, mapped to objects, walked by the
 * executor and serialized again in Node. What a field holds is described by
 * a shape (below), built by the caller from the query it answers; one
 * statement answers any number of shapes, nested connections included.
 *
 * Values are written as GraphQL serializes them: timestamps as ISO 8601 UTC
 * with milliseconds (`DateTimeISO`), uuids and text as strings, integers and
 * booleans as themselves. Which column types can be written so is `jsonKindOf`.
 */

/** How a column's value is written in JSON; undefined for types written differently than GraphQL would. */
export type JsonKind = 'text' | 'integer' | 'boolean' | 'timestamp';

export function jsonKindOf(meta: EntityMetadata, property: string): JsonKind | undefined {
  const prop = meta.properties[property as never] as { fieldNames?: string[]; columnTypes?: string[] } | undefined;
  if (prop?.fieldNames?.length !== 1 || prop.columnTypes?.length !== 1) return undefined;
  const type = prop.columnTypes[0].toLowerCase();
  if (type === 'uuid' || type === 'text' || /^(varchar|character varying)(\(\d+\))?$/.test(type)) return 'text';
  if (type === 'int' || type === 'integer' || type === 'int4' || type === 'smallint' || type === 'int2') return 'integer';
  if (type === 'boolean' || type === 'bool') return 'boolean';
  if (/^timestamptz(\(\d\))?$/.test(type) || type === 'timestamp with time zone') return 'timestamp';
  return undefined;
}

/**
 * A field's value: an entity column, a value computed from columns, a fixed
 * value (`__typename`), the record a many-to-one property points to (read
 * whatever its state), or a nested connection of children.
 */
export type FieldShape =
  | { kind: 'column'; property: string }
  | { kind: 'computed'; properties: string[]; sql: (columns: string[]) => string }
  | { kind: 'constant'; value: string }
  | { kind: 'reference'; property: string; node: ObjectShape }
  | { kind: 'connection'; connection: ConnectionShape };

/** The JSON object of one record: its response keys, in order. */
export interface ObjectShape {
  entity: EntityClass<object>;
  fields: Array<{ key: string; value: FieldShape }>;
}

export type EdgeFieldShape = { kind: 'node'; node: ObjectShape } | { kind: 'cursor' } | { kind: 'constant'; value: string };
export type PageInfoFieldShape = { kind: 'hasNextPage' } | { kind: 'endCursor' } | { kind: 'constant'; value: string };

export type ConnectionFieldShape =
  | { kind: 'nodes'; node: ObjectShape }
  | { kind: 'edges'; fields: Array<{ key: string; value: EdgeFieldShape }> }
  | { kind: 'pageInfo'; fields: Array<{ key: string; value: PageInfoFieldShape }> }
  | { kind: 'totalCount' }
  | { kind: 'constant'; value: string };

/** A keyset page of an entity, as a Relay connection. */
export interface ConnectionShape {
  query: KeysetQuery<{ id: string }>;
  /** For children: the many-to-one property naming their parent, whose rows the enclosing object holds. */
  parentProperty?: string;
  /**
   * The total as a scalar subquery (a maintained counter) over the parent's
   * id expression, undefined at the top level; without it, `totalCount` counts the rows.
   */
  total?: (parentId: string | undefined) => string;
  fields: Array<{ key: string; value: ConnectionFieldShape }>;
}

/** What the statement answers, one JSON text per root. */
export type RootShape =
  | { kind: 'connection'; connection: ConnectionShape }
  /** A record by id, if the entity's filter named `filter` (e.g. `softDelete`) lets it through. */
  | { kind: 'byId'; node: ObjectShape; id: string; filter: string };

/** Positional parameters that also keep their values, in the same order. */
class Bindings extends Parameters {
  readonly values: unknown[] = [];

  bind(value: unknown): string {
    this.values.push(value);
    return this.take();
  }
}

/** The most arguments a PostgreSQL function takes; json_build_object takes a key and a value per field. */
const MAX_FIELDS_PER_OBJECT = 50;

/** Whether json_build_object can write an object of this many fields. */
export function fitsOneObject(fields: readonly unknown[]): boolean {
  return fields.length > 0 && fields.length <= MAX_FIELDS_PER_OBJECT;
}

/**
 * One statement answering every root, each as JSON text in root order. The
 * statement text is built per request (string concatenation, no parsing);
 * it is prepared once per connection under a name derived from the text.
 */
export async function readJson(reads: ReadExecutor, roots: RootShape[]): Promise<string[]> {
  const sql = new JsonSql(reads.em.getMetadata());
  const columns = roots.map((root, index) => `(${sql.root(root)})::text as "r${index}"`);
  const text = `select ${columns.join(', ')}`;
  if (sql.bindings.values.length !== sql.bindings.taken) throw new Error('json-reads: bindings out of step with the statement');
  const statement = compiledStatement(text, () => text);
  const [row] = await reads.rows<Record<string, string | null>>(statement, sql.bindings.values);
  return roots.map((_, index) => row[`r${index}`] ?? 'null');
}

class JsonSql {
  readonly bindings = new Bindings();
  private aliases = 0;

  constructor(private readonly metadata: MetadataStorage) {}

  root(root: RootShape): string {
    if (root.kind === 'connection') return this.connection(root.connection, undefined);
    const meta = this.meta(root.node.entity);
    const alias = this.alias('e');
    const id = this.bindings.bind(root.id);
    const filter = filterCondition(meta, root.filter);
    const where = conditionSql(meta, filter, alias, this.bindings);
    conditionShape(filter, this.bindings.values);
    const conditions = [`${alias}.${quote(columnOf(meta, 'id'))} = ${id}::uuid`, where].filter(Boolean).join(' and ');
    return `select ${this.object(root.node, alias)} from ${quote(meta.tableName)} as ${alias} where ${conditions}`;
  }

  /**
   * `(select json_build_object(...) from (<page>) as p)`: the page's rows,
   * numbered in their order, aggregated once. `parentId` is the SQL of the
   * enclosing record's id, for children.
   */
  private connection(shape: ConnectionShape, parentId: string | undefined): string {
    const meta = this.meta(shape.query.entity);
    const table = this.alias('e');
    const page = this.alias('p');
    // Bound when first used: a parameter the text never mentions has no type PostgreSQL could infer.
    let firstParameter: string | undefined;
    const first = () => (firstParameter ??= `${this.bindings.bind(shape.query.first)}::int`);
    const sort = quote(columnOf(meta, shape.query.order.sortProperty));
    const id = quote(columnOf(meta, 'id'));
    if (shape.parentProperty && !parentId) throw new Error('json-reads: children are read under their parent');
    const ofParent = (alias: string) => (shape.parentProperty ? [`${alias}.${quote(columnOf(meta, shape.parentProperty))} = ${parentId}`] : []);
    // Bound in pageSql's order, with nothing in between.
    const from = pageSql(meta, table, shape.query, this.bindings, ofParent(table));
    pageShape(shape.query, this.bindings.values);
    const inPage = () => `${page}."__n" <= ${first()}`;
    const cursor = this.cursor(shape, page, sort, id);
    const fields = shape.fields.map(({ key, value }) => {
      switch (value.kind) {
        case 'nodes':
          return [key, `coalesce(json_agg(${this.object(value.node, page)} order by ${page}."__n") filter (where ${inPage()}), '[]'::json)`];
        case 'edges': {
          const edge = value.fields.map(({ key: edgeKey, value: edgeValue }) => [
            edgeKey,
            edgeValue.kind === 'node' ? this.object(edgeValue.node, page) : edgeValue.kind === 'cursor' ? cursor : literal(edgeValue.value),
          ]);
          return [key, `coalesce(json_agg(${jsonObject(edge)} order by ${page}."__n") filter (where ${inPage()}), '[]'::json)`];
        }
        case 'pageInfo': {
          const info = value.fields.map(({ key: infoKey, value: infoValue }) => [
            infoKey,
            infoValue.kind === 'hasNextPage'
              ? `count(*) > ${first()}`
              : infoValue.kind === 'endCursor'
                ? `(array_agg(${cursor} order by ${page}."__n" desc) filter (where ${inPage()}))[1]`
                : literal(infoValue.value),
          ]);
          return [key, jsonObject(info)];
        }
        case 'totalCount':
          return [key, `(${shape.total ? shape.total(parentId) : this.count(shape, meta, ofParent)})`];
        case 'constant':
          return [key, literal(value.value)];
      }
    });
    // Every column the objects and cursors read, and nothing else: the page is read from an index, then numbered.
    const columns = new Set([id, sort, ...this.columnsOf(shape).map((property) => quote(columnOf(meta, property)))]);
    const select = [...columns].map((column) => `${table}.${column}`).join(', ');
    const numbered = `select ${select}, row_number() over (order by ${table}.${sort} desc, ${table}.${id} desc) as "__n" ${from}`;
    // `group by ()`: exactly one row, even for an empty page or a connection that selects no aggregate.
    return `select ${jsonObject(fields as string[][])} from (${numbered}) as ${page} group by ()`;
  }

  /** `count(*)` over the same rows as the listing, for totals no counter keeps. */
  private count(shape: ConnectionShape, meta: EntityMetadata, ofParent: (alias: string) => string[]): string {
    const alias = this.alias('e');
    const where = { $and: [shape.query.order.where, shape.query.where ?? {}] };
    const condition = conditionSql(meta, where as never, alias, this.bindings);
    conditionShape(where as never, this.bindings.values);
    const conditions = [condition, ...ofParent(alias)].filter(Boolean);
    return `select count(*) from ${quote(meta.tableName)} as ${alias}${conditions.length > 0 ? ` where ${conditions.join(' and ')}` : ''}`;
  }

  /** The cursor `encodeCursor` writes: base64url of `["<order>","<ISO sort value>","<id>"]`. */
  private cursor(shape: ConnectionShape, page: string, sort: string, id: string): string {
    const json = `${literal(`[${JSON.stringify(shape.query.order.name)},"`)} || ${isoTimestamp(`${page}.${sort}`)} || '","' || ${page}.${id}::text || '"]'`;
    return `translate(encode(convert_to(${json}, 'UTF8'), 'base64'), E'+/=\\n', '-_')`;
  }

  private object(shape: ObjectShape, alias: string): string {
    const meta = this.meta(shape.entity);
    return jsonObject(
      shape.fields.map(({ key, value }) => {
        const column = (property: string) => `${alias}.${quote(columnOf(meta, property))}`;
        switch (value.kind) {
          case 'constant':
            return [key, literal(value.value)];
          case 'connection':
            return [key, `(${this.connection(value.connection, column('id'))})`];
          case 'computed':
            return [key, value.sql(value.properties.map(column))];
          case 'reference':
            return [key, `(${this.reference(value.node, column(value.property))})`];
          case 'column':
            return [key, jsonKindOf(meta, value.property) === 'timestamp' ? isoTimestamp(column(value.property)) : column(value.property)];
        }
      }),
    );
  }

  /** The record a foreign key column points to, by its id; no filter applies (an author in the trash is still the author). */
  private reference(node: ObjectShape, foreignKey: string): string {
    const meta = this.meta(node.entity);
    const alias = this.alias('e');
    return `select ${this.object(node, alias)} from ${quote(meta.tableName)} as ${alias} where ${alias}.${quote(columnOf(meta, 'id'))} = ${foreignKey}`;
  }

  /** Properties a page's rows must carry: the columns its objects read (the id, which children are found by, is always there). */
  private columnsOf(shape: ConnectionShape): string[] {
    const properties: string[] = [];
    const collect = (node: ObjectShape) => {
      for (const { value } of node.fields) {
        if (value.kind === 'column' || value.kind === 'reference') properties.push(value.property);
        if (value.kind === 'computed') properties.push(...value.properties);
      }
    };
    for (const { value } of shape.fields) {
      if (value.kind === 'nodes') collect(value.node);
      if (value.kind === 'edges') for (const edge of value.fields) if (edge.value.kind === 'node') collect(edge.value.node);
    }
    return properties;
  }

  private meta(entity: EntityClass<object>): EntityMetadata {
    return metadataOf(this.metadata, entity);
  }

  private alias(prefix: string): string {
    return `${prefix}${this.aliases++}`;
  }
}

function jsonObject(fields: string[][]): string {
  return `json_build_object(${fields.map(([key, value]) => `${literal(key)}, ${value}`).join(', ')})`;
}

/** A timestamp as `Date.prototype.toISOString` writes it: UTC, milliseconds, `Z`. */
function isoTimestamp(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
