import type { EntityClass, EntityMetadata, FilterQuery, MetadataStorage } from '@mikro-orm/core';
import type { KeysetQuery } from '../keyset';
import { countSql, pageLimit, pageShape, pageSql, whereOf } from './keyset-reads';
import type { PreparedRead, ReadExecutor } from './read-executor';
import { columnOf, conditionShape, conditionSql, literal, metadataOf, Parameters, quote, statementName } from './read-sql';

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

/** The nodes of a connection: one entity's objects, or for a union, an object shape per member entity. */
export type NodeShape = ObjectShape | { members: ObjectShape[] };

export type EdgeFieldShape = { kind: 'node'; node: NodeShape } | { kind: 'cursor' } | { kind: 'constant'; value: string };
export type PageInfoFieldShape = { kind: 'hasNextPage' } | { kind: 'endCursor' } | { kind: 'constant'; value: string };

export type ConnectionFieldShape =
  | { kind: 'nodes'; node: NodeShape }
  | { kind: 'edges'; fields: Array<{ key: string; value: EdgeFieldShape }> }
  | { kind: 'pageInfo'; fields: Array<{ key: string; value: PageInfoFieldShape }> }
  | { kind: 'totalCount' }
  | { kind: 'constant'; value: string };

/**
 * A total a maintained counter answers: `sql` is a scalar subquery over the
 * enclosing record's id expression (children), or undefined at the top level;
 * `bind` binds a value it needs. `key` tells two equal totals apart, so that
 * several roots asking for the same one compute it once.
 */
export interface RenderedTotal {
  key: string;
  sql(parentId: string | undefined, bind: (value: unknown) => string): string;
}

/** The rows of one entity a connection lists. */
export interface ConnectionSource {
  query: KeysetQuery<{ id: string }>;
  /** The maintained total; without it, `totalCount` counts the rows. */
  total?: RenderedTotal;
}

/**
 * A keyset page as a Relay connection: of one entity, or of several merged in
 * their common order (a union's members: each read from its own index, then
 * merged), all with the same `first`, `after` and order.
 */
export interface ConnectionShape {
  sources: ConnectionSource[];
  /** For children (one source): the many-to-one property naming their parent, whose rows the enclosing object holds. */
  parentProperty?: string;
  fields: Array<{ key: string; value: ConnectionFieldShape }>;
}

/** What the statement answers, one JSON text per root. */
export type RootShape =
  | { kind: 'connection'; connection: ConnectionShape }
  /** A record by id, if it meets `where` (who may see it: e.g. live records only, or trashed ones of their owner). */
  | { kind: 'byId'; node: ObjectShape; id: string; where: FilterQuery<object> };

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
  // Like the other compiled reads, a statement binding a pattern is planned for each run's values (see plannedFor).
  const statement = sql.patterns ? { text } : renderedStatement(text);
  const [row] = await reads.rows<Record<string, string | null>>(statement, sql.bindings.values);
  return roots.map((_, index) => row[`r${index}`] ?? 'null');
}

/**
 * Most rendered statements prepared by name. Their text follows what clients
 * select (fields, aliases), so unlike the other compiled reads it has no
 * bound of its own, and every name stays prepared on every pooled connection
 * for the connection's life. Past this many, a new text runs unnamed: parsed
 * and planned each time, holding nothing. An application has a few dozen
 * query shapes, which keep their prepared plans.
 */
export const MAX_PREPARED_RENDERED_STATEMENTS = 200;
const prepared = new Map<string, PreparedRead>();

function renderedStatement(text: string): PreparedRead {
  const known = prepared.get(text);
  if (known) return known;
  if (prepared.size >= MAX_PREPARED_RENDERED_STATEMENTS) return { text };
  const statement = { name: statementName(text, 'rendered'), text };
  prepared.set(text, statement);
  return statement;
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
  /** Whether a condition binds a pattern (see `ConditionShape`). */
  patterns = false;
  private aliases = 0;
  /**
   * Top-level totals, each computed once however many roots ask for it (aliases
   * of one listing): a count may read every row it counts. Key: what is
   * counted; value: the name of the common table expression holding it.
   */
  private readonly totals = new Map<string, { name: string; sql: string }>();

  constructor(private readonly metadata: MetadataStorage) {}

  /** `with t0 as (...), ... ` for the totals the roots share; '' when none. */
  withTotals(): string {
    if (this.totals.size === 0) return '';
    return `with ${[...this.totals.values()].map(({ name, sql }) => `${name} as (select (${sql}) as "total")`).join(', ')} `;
  }

  root(root: RootShape): string {
    if (root.kind === 'connection') return this.connection(root.connection, undefined);
    const meta = this.meta(root.node.entity);
    const alias = this.alias('e');
    const id = this.bindings.bind(root.id);
    const where = conditionSql(meta, root.where, alias, this.bindings);
    this.patterns ||= conditionShape(root.where, this.bindings.values).patterns;
    const conditions = [`${alias}.${quote(columnOf(meta, 'id'))} = ${id}::uuid`, where].filter(Boolean).join(' and ');
    return `select ${this.object(root.node, alias)} from ${quote(meta.tableName)} as ${alias} where ${conditions}`;
  }

  /**
   * `(select '{...}' from (<rows>) as m group by ())`: each source's page read
   * once from its index, every list item's JSON written per row, sources
   * merged in their order, then aggregated in it. With `pageInfo { hasNextPage }`
   * one row more is read, to tell whether there is a next page, and left out
   * of the lists (an array slice). `parentId` is the SQL of the enclosing
   * record's id, for children.
   */
  private connection(shape: ConnectionShape, parentId: string | undefined): string {
    const [{ query }] = shape.sources;
    if (shape.parentProperty && (!parentId || shape.sources.length !== 1)) throw new Error('json-reads: children are read under their one parent');
    // Written in the text, like the pages' own limits (see pageLimit).
    const first = pageLimit(query.first, false);
    const extraRow = shape.fields.some(({ value }) => value.kind === 'pageInfo' && value.fields.some((field) => field.value.kind === 'hasNextPage'));
    // The JSON of each list field's items (nodes, edges), computed per row: a column each.
    const lists = shape.fields.flatMap(({ value }, index) => (value.kind === 'nodes' || value.kind === 'edges' ? [{ index, value }] : []));
    const rows = shape.sources.map((source) => this.sourceRows(shape, source, lists, parentId, extraRow));
    const merged = this.alias('m');
    const limit = shape.sources.length > 1 ? ` order by "__sort" desc, "__id" desc limit ${pageLimit(first, extraRow)}` : '';
    const from = shape.sources.length > 1 ? `select * from (${rows.map((row) => `(${row})`).join(' union all ')}) as u${limit}` : rows[0];
    const order = `${merged}."__sort" desc, ${merged}."__id" desc`;
    // The page's items as a JSON array, without the extra row.
    const list = (column: string) =>
      extraRow
        ? `coalesce('[' || array_to_string((array_agg(${merged}.${column} order by ${order}))[1:${first}], ',') || ']', '[]')`
        : `coalesce('[' || string_agg(${merged}.${column}, ',' order by ${order}) || ']', '[]')`;
    const fields = shape.fields.map(({ key, value }, index): [string, string] => {
      switch (value.kind) {
        case 'nodes':
        case 'edges':
          return [key, list(`"__item${index}"`)];
        case 'pageInfo': {
          const info = value.fields.map(({ key: infoKey, value: infoValue }): [string, string] => [
            infoKey,
            infoValue.kind === 'hasNextPage'
              ? `(count(*) > ${first})::text`
              : infoValue.kind === 'endCursor'
                ? `coalesce('"' || (array_agg(${this.cursor(query, merged)} order by ${order}))[least(count(*), ${first})] || '"', 'null')`
                : literal(JSON.stringify(infoValue.value)),
          ]);
          return [key, JsonText.object(info)];
        }
        case 'totalCount':
          return [key, `(select ${shape.sources.map((source) => `(${this.total(shape, source, parentId)})`).join(' + ')})::text`];
        case 'constant':
          return [key, literal(JSON.stringify(value.value))];
      }
    });
    // `group by ()`: exactly one row, even for an empty page or a connection that selects no aggregate.
    return `select ${JsonText.object(fields)} from (${from}) as ${merged} group by ()`;
  }

  /** One source's page: its sort value and id, and each list field's item as JSON text. */
  private sourceRows(
    shape: ConnectionShape,
    source: ConnectionSource,
    lists: Array<{ index: number; value: Extract<ConnectionFieldShape, { kind: 'nodes' | 'edges' }> }>,
    parentId: string | undefined,
    extraRow: boolean,
  ): string {
    const { query } = source;
    const meta = this.meta(query.entity);
    const table = this.alias('e');
    const page = this.alias('p');
    const sort = quote(columnOf(meta, query.order.sortProperty));
    const id = quote(columnOf(meta, 'id'));
    const parent = shape.parentProperty ? [`${table}.${quote(columnOf(meta, shape.parentProperty))} = ${parentId}`] : [];
    // Bound in pageSql's order, with nothing in between.
    const from = pageSql(meta, table, query, this.bindings, parent, extraRow);
    this.patterns ||= pageShape(query, this.bindings.values, extraRow).patterns;
    const items = lists.map(({ index, value }) => {
      const item =
        value.kind === 'nodes'
          ? this.object(nodeOf(value.node, query.entity), page)
          : JsonText.object(
              value.fields.map(({ key, value: edge }): [string, string] => [
                key,
                edge.kind === 'node' ? this.object(nodeOf(edge.node, query.entity), page) : edge.kind === 'cursor' ? `'"' || ${this.cursor(query, page, sort, id)} || '"'` : literal(JSON.stringify(edge.value)),
              ]),
            );
      return `${item} as "__item${index}"`;
    });
    // Every column the objects read, and nothing else.
    const nodes = lists.flatMap(({ value }) => (value.kind === 'nodes' ? [value.node] : value.fields.flatMap((edge) => (edge.value.kind === 'node' ? [edge.value.node] : []))));
    const columns = new Set([id, sort, ...nodes.flatMap((node) => this.columnsOf(nodeOf(node, query.entity))).map((property) => quote(columnOf(meta, property)))]);
    const pageRows = `select ${[...columns].map((column) => `${table}.${column}`).join(', ')} ${from}`;
    return `select ${[`${page}.${sort} as "__sort"`, `${page}.${id} as "__id"`, ...items].join(', ')} from (${pageRows}) as ${page}`;
  }

  /** A source's total: its maintained counter, or a count; at the top level, shared by every root that asks for the same one. */
  private total(shape: ConnectionShape, source: ConnectionSource, parentId: string | undefined): string {
    const meta = this.meta(source.query.entity);
    const ofParent = (alias: string) => (shape.parentProperty ? [`${alias}.${quote(columnOf(meta, shape.parentProperty))} = ${parentId}`] : []);
    const bind = (value: unknown) => this.bindings.bind(value);
    const sql = () => (source.total ? source.total.sql(parentId, bind) : this.count(source.query, meta, ofParent));
    if (parentId !== undefined) return sql();
    const key = source.total ? source.total.key : `${meta.className}:${JSON.stringify(whereOf(source.query))}`;
    let total = this.totals.get(key);
    if (!total) {
      total = { name: `t${this.totals.size}`, sql: sql() };
      this.totals.set(key, total);
    }
    return `select "total" from ${total.name}`;
  }

  /** `count(*)` over the same rows as the listing, for totals no counter keeps. */
  private count(query: KeysetQuery<{ id: string }>, meta: EntityMetadata, ofParent: (alias: string) => string[]): string {
    const alias = this.alias('e');
    // Bound in countSql's order, with nothing in between.
    const sql = countSql(meta, alias, query, this.bindings, ofParent(alias));
    this.patterns ||= conditionShape(whereOf(query), this.bindings.values).patterns;
    return sql;
  }

  /** The cursor `encodeCursor` writes: base64url of `["<order>","<ISO sort value>","<id>"]`. */
  private cursor(query: KeysetQuery<{ id: string }>, alias: string, sort = '"__sort"', id = '"__id"'): string {
    const json = `${literal(`[${JSON.stringify(query.order.name)},"`)} || ${isoTimestamp(`${alias}.${sort}`)} || '","' || ${alias}.${id}::text || '"]'`;
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

  /** The properties a record's object reads from its own row. */
  private columnsOf(node: ObjectShape): string[] {
    return node.fields.flatMap(({ value }) => {
      if (value.kind === 'column' || value.kind === 'reference') return [value.property];
      return value.kind === 'computed' ? value.properties : [];
    });
  }

  private meta(entity: EntityClass<object>): EntityMetadata {
    return metadataOf(this.metadata, entity);
  }

  private alias(prefix: string): string {
    return `${prefix}${this.aliases++}`;
  }
}

/** The object shape of `entity`'s records among a connection's nodes. */
function nodeOf(node: NodeShape, entity: EntityClass<object>): ObjectShape {
  const shape = 'members' in node ? node.members.find((member) => member.entity === entity) : node;
  if (!shape || shape.entity !== entity) throw new Error(`json-reads: no object shape for ${entity.name}`);
  return shape;
}

/** A timestamp as `Date.prototype.toISOString` writes it: UTC, milliseconds, `Z`. */
function isoTimestamp(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
