import { createHash } from 'node:crypto';
import { ReferenceKind, type EntityClass, type EntityMetadata, type FilterQuery, type MetadataStorage } from '@mikro-orm/core';
import type { PreparedRead } from './read-executor';

/**
 * SQL text of the read shapes, built from MikroORM's metadata (tables,
 * columns, column types, the entities' filters) the first time a shape is
 * used, then reused: a request only collects the values to bind.
 */

type Where = Record<string, unknown>;

/** A condition's structure without its values (the cache key), and the values in binding order. */
export interface ConditionShape {
  key: string;
  values: unknown[];
  /**
   * Whether a pattern (`$like`, `$ilike`) is bound: how many rows it matches,
   * and so which plan is right, depends on its value (see `plannedFor`).
   */
  patterns: boolean;
}

const isNotNull = (value: unknown) =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 1 && (value as Where).$ne === null;

/** Comparison operators with one bound operand, as MikroORM writes them. */
const comparisons: Record<string, string> = { $eq: '=', $gt: '>', $gte: '>=', $lt: '<', $lte: '<=', $like: 'like', $ilike: 'ilike' };

const isBindable = (value: unknown) => typeof value === 'string' || typeof value === 'number' || value instanceof Date;

/** `{ $gte: value }` and the like: the operator and its operand, or undefined. */
function comparisonOf(value: unknown): [string, unknown] | undefined {
  if (typeof value !== 'object' || value === null || value instanceof Date) return undefined;
  const entries = Object.entries(value);
  if (entries.length !== 1 || !(entries[0][0] in comparisons) || !isBindable(entries[0][1])) return undefined;
  return entries[0];
}

/**
 * The supported subset of FilterQuery: `$and`, `$or`, `prop: null`,
 * `prop: { $ne: null }`, `prop: '<value>'` and one comparison
 * (`$eq`, `$gt`, `$gte`, `$lt`, `$lte`, `$like`, `$ilike`) with a value. Anything else is refused, so a
 * new kind of condition cannot silently read the wrong rows.
 */
export function conditionShape(where: FilterQuery<object>, values: unknown[] = []): ConditionShape {
  const parts: string[] = [];
  let patterns = false;
  for (const [key, value] of Object.entries(where as Where)) {
    if (key === '$and' || key === '$or') {
      const items = (value as Where[]).map((item) => conditionShape(item, values));
      patterns ||= items.some((item) => item.patterns);
      parts.push(`${key}(${items.map((item) => item.key).join(',')})`);
    } else if (value === null) parts.push(`${key}=null`);
    else if (isNotNull(value)) parts.push(`${key}!=null`);
    else if (typeof value === 'string') {
      values.push(value);
      parts.push(`${key}=?`);
    } else if (comparisonOf(value)) {
      const [operator, operand] = comparisonOf(value)!;
      values.push(operand);
      patterns ||= operator === '$like' || operator === '$ilike';
      parts.push(`${key}${operator}?`);
    } else throw new Error(`Compiled reads cannot express the condition ${key}: ${JSON.stringify(value)}`);
  }
  return { key: `{${parts.join(',')}}`, values, patterns };
}

/**
 * The statement as it should run for its conditions: by name, planned once
 * per connection; or, when one binds a pattern, unnamed, planned for each run's
 * values. After a few runs PostgreSQL keeps a prepared statement's generic
 * plan when it estimates it no dearer, and for a search that plan walks the
 * listing's order index filtering every row (200 ms on a million users),
 * where a plan made for the pattern reads its trigram index (2 ms).
 */
export function plannedFor(statement: PreparedRead, ...conditions: ConditionShape[]): PreparedRead {
  return conditions.some((condition) => condition.patterns) ? { text: statement.text } : statement;
}

/** Binding positions, shared by every part of one statement. */
export class Parameters {
  private next = 1;
  take(): string {
    return `$${this.next++}`;
  }

  /** How many positions were handed out. */
  get taken(): number {
    return this.next - 1;
  }
}

/**
 * Binding positions by name, for statements whose values come as a record:
 * a name used twice is bound once, and `names` gives the values' order.
 */
export class NamedParameters {
  readonly names: string[] = [];

  /** The placeholder of `name`, cast to the column type it is compared with or written to. */
  take(name: string, type: string): string {
    let index = this.names.indexOf(name);
    if (index < 0) index = this.names.push(name) - 1;
    return `$${index + 1}::${type}`;
  }

  valuesOf(record: Record<string, unknown>): unknown[] {
    return this.names.map((name) => record[name]);
  }
}

/** SQL of a condition, in the same order as `conditionShape` collects its values; '' for no condition. */
export function conditionSql(meta: EntityMetadata, where: FilterQuery<object>, alias: string, params: Parameters): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(where as Where)) {
    if (key === '$and' || key === '$or') {
      const items = (value as Where[]).map((item) => conditionSql(meta, item, alias, params));
      // An empty member of an OR matches everything.
      if (key === '$or' && items.some((item) => item === '')) continue;
      const present = items.filter((item) => item !== '');
      if (present.length > 0) parts.push(`(${present.join(key === '$and' ? ' and ' : ' or ')})`);
      continue;
    }
    const column = `${alias}.${quote(columnOf(meta, key))}`;
    // Literal null tests, as MikroORM writes them: they let PostgreSQL use the partial indexes.
    if (value === null) parts.push(`${column} is null`);
    else if (isNotNull(value)) parts.push(`${column} is not null`);
    else if (comparisonOf(value)) {
      const [operator] = comparisonOf(value)!;
      // A pattern is text whatever the column's type; anything else is compared as the column's own type.
      const type = operator === '$like' || operator === '$ilike' ? 'text' : columnTypeOf(meta, key);
      parts.push(`${column} ${comparisons[operator]} ${params.take()}::${type}`);
    } else parts.push(`${column} = ${params.take()}::${columnTypeOf(meta, key)}`);
  }
  return parts.join(' and ');
}

/** The condition of a filter declared on the entity (e.g. `softDelete`), as MikroORM would apply it. */
export function filterCondition(meta: EntityMetadata, filterName: string): FilterQuery<object> {
  const filter = meta.filters[filterName];
  if (!filter || typeof filter.cond !== 'object') throw new Error(`${meta.className} has no static filter ${filterName}`);
  return filter.cond as FilterQuery<object>;
}

export function quote(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function columnOf(meta: EntityMetadata, property: string): string {
  const prop = meta.properties[property as never] as { fieldNames?: string[] } | undefined;
  if (!prop?.fieldNames?.length) throw new Error(`${meta.className} has no column for ${property}`);
  return prop.fieldNames[0];
}

export function columnTypeOf(meta: EntityMetadata, property: string): string {
  const prop = meta.properties[property as never] as { columnTypes?: string[] };
  return prop.columnTypes![0];
}

/** Every column an entity instance is made of, each named as its property (so a row needs no renaming). */
export function selectList(meta: EntityMetadata, alias: string): string {
  return mappedProperties(meta)
    .map((prop) => `${alias}.${quote(prop.column)} as ${quote(prop.name)}`)
    .join(', ');
}

/** The same columns as a JSON object, for rows aggregated in the database. */
export function jsonObject(meta: EntityMetadata, alias: string): string {
  return `json_build_object(${mappedProperties(meta)
    .map((prop) => `${literal(prop.name)}, ${alias}.${quote(prop.column)}`)
    .join(', ')})`;
}

interface MappedProperty {
  name: string;
  column: string;
  kind: 'value' | 'date' | 'reference';
}

const mapped = new WeakMap<EntityMetadata, MappedProperty[]>();

function mappedProperties(meta: EntityMetadata): MappedProperty[] {
  let props = mapped.get(meta);
  if (!props) {
    props = meta.props
      .filter((prop) => prop.fieldNames?.length === 1 && (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.MANY_TO_ONE))
      .map((prop) => ({
        name: prop.name,
        column: prop.fieldNames[0],
        kind: prop.kind === ReferenceKind.MANY_TO_ONE ? 'reference' : prop.runtimeType === 'Date' ? 'date' : 'value',
      }));
    mapped.set(meta, props);
  }
  return props;
}

/**
 * A row keyed by property names (from `selectList` or `jsonObject`) as an
 * instance of the entity class, exactly as `rowsToEntities` makes them:
 * timestamps arrive as text, many-to-one properties become `{ id }` references.
 */
export function rowToEntity<T extends object>(meta: EntityMetadata, entity: EntityClass<T>, row: Record<string, unknown>): T {
  return rowMapperOf(meta, entity)(row) as T;
}

type RowMapper = (row: Record<string, unknown>) => object;

const rowMappers = new WeakMap<EntityMetadata, RowMapper>();
const toDate = (value: unknown) => (value == null ? value : new Date(value as string));
const toReference = (value: unknown) => (value == null ? value : { id: value });

/**
 * The mapping of one entity's rows, generated once from its metadata as a
 * function that builds each object in a single literal, so every row of an
 * entity gets the same shape at once. The generic loop, setting property
 * after property by computed name, was the largest cost of our own code in a
 * 50-row page's profile (6.6% of the CPU); generated, the mapping takes under
 * 2%, and parsing the timestamps (`toDate`) 3.5%. Property names come from
 * the entity metadata and are written as JSON string literals.
 */
function rowMapperOf(meta: EntityMetadata, entity: EntityClass<object>): RowMapper {
  let mapper = rowMappers.get(meta);
  if (!mapper) {
    const fields = mappedProperties(meta).map((prop) => {
      const key = JSON.stringify(prop.name);
      const value = `row[${key}]`;
      return `${key}: ${prop.kind === 'reference' ? `toReference(${value})` : prop.kind === 'date' ? `toDate(${value})` : value}`;
    });
    const build = new Function('toDate', 'toReference', 'prototype', `return (row) => Object.setPrototypeOf({ ${fields.join(', ')} }, prototype);`);
    mapper = build(toDate, toReference, entity.prototype) as RowMapper;
    rowMappers.set(meta, mapper);
  }
  return mapper;
}

export function metadataOf(metadata: MetadataStorage, entity: EntityClass<object>): EntityMetadata {
  return metadata.get(entity.name);
}

/**
 * Most compiled statements prepared by name. Their shapes are the code's,
 * but a page's limit is in its text (`pageLimit`), so a shape has a statement
 * per page size clients ask for, and each named one stays prepared on every
 * pooled connection that ran it (a page's plan holds about 26 KB of a
 * PostgreSQL backend's memory). Past this many, a new one runs unnamed:
 * parsed and planned at each run, holding nothing.
 */
export const MAX_PREPARED_STATEMENTS = 500;
const statements = new Map<string, PreparedRead>();

/** A prepared statement's name, derived from its text: equal texts share one, on every connection. */
export function statementName(text: string, prefix = 'read'): string {
  return `${prefix}_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
}

/** The statement of a shape, built on first use; its name is derived from its text, so equal texts share one. */
export function compiledStatement(key: string, build: () => string, prefix?: string): PreparedRead {
  let statement = statements.get(key);
  if (!statement) {
    const text = build();
    if (statements.size >= MAX_PREPARED_STATEMENTS) return { text };
    statement = { name: statementName(text, prefix), text };
    statements.set(key, statement);
  }
  return statement;
}

/** A statement whose values come as a record, by name (`NamedParameters`). */
export interface NamedStatement {
  statement: PreparedRead;
  params: NamedParameters;
}

const namedStatements = new Map<string, NamedStatement>();

/** `compiledStatement` for a statement with named values: built on first use, with the order its values bind in. */
export function compiledNamedStatement(key: string, build: (params: NamedParameters) => string, prefix?: string): NamedStatement {
  let named = namedStatements.get(key);
  if (!named) {
    const params = new NamedParameters();
    const text = build(params);
    named = { statement: { name: statementName(text, prefix), text }, params };
    namedStatements.set(key, named);
  }
  return named;
}
