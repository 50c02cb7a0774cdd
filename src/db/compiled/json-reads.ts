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
export type JsonKind = 'text' | 'uuid' | 'integer' | 'boolean' | 'timestamp';

export function jsonKindOf(meta: EntityMetadata, property: string): JsonKind | undefined {
  const prop = meta.properties[property as never] as { fieldNames?: string[]; columnTypes?: string[] } | undefined;
  if (prop?.fieldNames?.length !== 1 || prop.columnTypes?.length !== 1) return undefined;
  const type = prop.columnTypes[0].toLowerCase();
  if (type === 'uuid') return 'uuid';
  if (type === 'text' || /^(varchar|character varying)(\(\d+\))?$/.test(type)) return 'text';
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
  | { kind: 'computed'; properties: string[]; sql: (columns: string[]) => string; json: JsonKind }
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

/**
 * One statement answering every root, each as JSON text in root order. The
 * statement text is built per request (string concatenation, no parsing);
 * it is prepared once per connection under a name derived from the text.
 */
export async function readJson(reads: ReadExecutor, roots: RootShape[]): Promise<string[]> {
  const sql = new JsonSql(reads.em.getMetadata());
  const columns = roots.map((root, index) => `(${sql.root(root)}) as "r${index}"`);
  const text = `${sql.withTotals()}select ${columns.join(', ')}`;
  if (sql.bindings.values.length !== sql.bindings.taken) throw new Error('json-reads: bindings out of step with the statement');
  const statement = compiledStatement(text, () => text);
  const [row] = await reads.rows<Record<string, string | null>>(statement, sql.bindings.values);
  return roots.map((_, index) => row[`r${index}`] ?? 'null');
}

/**
 * JSON text as a concatenation: literal parts (keys, punctuation, constants)
 * written here, values by SQL expressions that each yield JSON text. This is
 * what PostgreSQL builds fastest (json_build_object looks up the type of
 * every argument of every row), and it keeps the order of an aggregate's
 * input explicit (`string_agg(... order by ...)`).
 */
class JsonText {
  private readonly parts: Array<{ literal: string } | { sql: string }> = [];

  literal(text: string): this {
    const last = this.parts.at(-1);
    if (last && 'literal' in last) last.literal += text;
    else this.parts.push({ literal: text });
    return this;
  }

  value(sql: string): this {
    this.parts.push({ sql });
    return this;
  }

  /** `'{"a":' || <a> || ',"b":' || <b> || '}'` for the fields given. */
  static object(fields: Array<[string, string]>): string {
    const json = new JsonText().literal('{');
    fields.forEach(([key, sql], index) => json.literal(`${index > 0 ? ',' : ''}${JSON.stringify(key)}:`).value(sql));
    return json.literal('}').sql();
  }

  sql(): string {
    return this.parts.map((part) => ('literal' in part ? literal(part.literal) : `(${part.sql})`)).join(' || ');
  }
}

/** A column's value as JSON text; `null` when it is null. */
function jsonValue(kind: JsonKind, column: string): string {
  switch (kind) {
    case 'text':
      return `coalesce(to_json(${column})::text, 'null')`;
    // uuid text, integers and booleans (`true`, `false`) need no escaping.
    case 'uuid':
      return `coalesce('"' || ${column}::text || '"', 'null')`;
    case 'integer':
    case 'boolean':
      return `coalesce(${column}::text, 'null')`;
    case 'timestamp':
      return `coalesce('"' || ${isoTimestamp(column)} || '"', 'null')`;
  }
}

class JsonSql {
  readonly bindings = new Bindings();
  private aliases = 0;
  /**
   * Top-level totals, each computed once however many roots ask for it (aliases
   * of one listing): a count may read every row it counts. Key: what is
   * counted; value: the name of the common table expression holding it.
   */
  private readonly totals = new Map<string, { name: string; sql: string }>();

  /** `with t0 as (...), ... ` for the totals the roots share; '' when none. */
  withTotals(): string {
    if (this.totals.size === 0) return '';
    return `with ${[...this.totals.values()].map(({ name, sql }) => `${name} as (select (${sql}) as "total")`).join(', ')} `;
  }

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
   * `(select '{...}' from (<page>) as p group by ())`: the page's rows read
   * once, aggregated in their order. With `pageInfo { hasNextPage }` one row
   * more is read, to tell whether there is a next page, and left out of the
   * lists (an array slice). `parentId` is the SQL of the enclosing record's
   * id, for children.
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
    const extraRow = shape.fields.some(({ value }) => value.kind === 'pageInfo' && value.fields.some((field) => field.value.kind === 'hasNextPage'));
    // Bound in pageSql's order, with nothing in between.
    const from = pageSql(meta, table, shape.query, this.bindings, ofParent(table));
    pageShape(shape.query, this.bindings.values, extraRow);
    const order = `${page}.${sort} desc, ${page}.${id} desc`;
    // The page's rows as a JSON array, without the extra row.
    const list = (row: string) =>
      extraRow
        ? `coalesce('[' || array_to_string((array_agg(${row} order by ${order}))[1:${first()}], ',') || ']', '[]')`
        : `coalesce('[' || string_agg(${row}, ',' order by ${order}) || ']', '[]')`;
    const cursor = this.cursor(shape, page, sort, id);
    const fields = shape.fields.map(({ key, value }): [string, string] => {
      switch (value.kind) {
        case 'nodes':
          return [key, list(this.object(value.node, page))];
        case 'edges': {
          const edge = value.fields.map(({ key: edgeKey, value: edgeValue }): [string, string] => [
            edgeKey,
            edgeValue.kind === 'node' ? this.object(edgeValue.node, page) : edgeValue.kind === 'cursor' ? `'"' || ${cursor} || '"'` : literal(JSON.stringify(edgeValue.value)),
          ]);
          return [key, list(JsonText.object(edge))];
        }
        case 'pageInfo': {
          const info = value.fields.map(({ key: infoKey, value: infoValue }): [string, string] => [
            infoKey,
            infoValue.kind === 'hasNextPage'
              ? `(count(*) > ${first()})::text`
              : infoValue.kind === 'endCursor'
                ? `coalesce('"' || (array_agg(${cursor} order by ${order}))[least(count(*), ${first()})] || '"', 'null')`
                : literal(JSON.stringify(infoValue.value)),
          ]);
          return [key, JsonText.object(info)];
        }
        case 'totalCount':
          return [key, `(${this.total(shape, meta, parentId, ofParent)})::text`];
        case 'constant':
          return [key, literal(JSON.stringify(value.value))];
      }
    });
    // Every column the objects and cursors read, and nothing else.
    const columns = new Set([id, sort, ...this.columnsOf(shape).map((property) => quote(columnOf(meta, property)))]);
    const select = [...columns].map((column) => `${table}.${column}`).join(', ');
    // `group by ()`: exactly one row, even for an empty page or a connection that selects no aggregate.
    return `select ${JsonText.object(fields)} from (select ${select} ${from}) as ${page} group by ()`;
  }

  /** The connection's total: its maintained counter, or a count; at the top level, shared by every root that asks for the same one. */
  private total(shape: ConnectionShape, meta: EntityMetadata, parentId: string | undefined, ofParent: (alias: string) => string[]): string {
    if (parentId !== undefined) return shape.total ? shape.total(parentId) : this.count(shape, meta, ofParent);
    const where = { $and: [shape.query.order.where, shape.query.where ?? {}] };
    const key = shape.total ? shape.total(undefined) : `${meta.className}:${JSON.stringify(where)}`;
    let total = this.totals.get(key);
    if (!total) {
      total = { name: `t${this.totals.size}`, sql: shape.total ? shape.total(undefined) : this.count(shape, meta, ofParent) };
      this.totals.set(key, total);
    }
    return `select "total" from ${total.name}`;
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

  /** A record's JSON text, its columns read from `alias`. */
  private object(shape: ObjectShape, alias: string): string {
    const meta = this.meta(shape.entity);
    const column = (property: string) => `${alias}.${quote(columnOf(meta, property))}`;
    return JsonText.object(
      shape.fields.map(({ key, value }): [string, string] => {
        switch (value.kind) {
          case 'constant':
            return [key, literal(JSON.stringify(value.value))];
          case 'connection':
            return [key, this.connection(value.connection, column('id'))];
          case 'computed':
            return [key, jsonValue(value.json, value.sql(value.properties.map(column)))];
          case 'reference':
            return [key, `coalesce((${this.reference(value.node, column(value.property))}), 'null')`];
          case 'column':
            return [key, jsonValue(jsonKindOf(meta, value.property)!, column(value.property))];
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

/** A timestamp as `Date.prototype.toISOString` writes it: UTC, milliseconds, `Z`. */
function isoTimestamp(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
