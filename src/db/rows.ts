import { ReferenceKind, type EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Turns raw rows into instances of the entity class without MikroORM's
 * hydration, identity map or change tracking. Listings are read-only, and
 * managing 50 entities per page was the largest single cost of a list request
 * (see the README's Performance section). Many-to-one properties become
 * `{ id }` references, which is all the field resolvers read.
 */
export function rowsToEntities<T extends object>(em: EntityManager, entity: EntityClass<T>, rows: Array<Record<string, unknown>>): T[] {
  const columns = columnMapOf(em, entity);
  return rows.map((row) => {
    const values: Record<string, unknown> = {};
    for (const [property, column, kind] of columns) {
      const value = row[column];
      values[property] = value == null ? value : kind === 'reference' ? { id: value } : kind === 'date' ? new Date(value as string) : value;
    }
    // Own data properties, set before the prototype: MikroORM's accessors on the prototype never run.
    return Object.setPrototypeOf(values, entity.prototype) as T;
  });
}

type ColumnKind = 'value' | 'date' | 'reference';
const columnMaps = new WeakMap<object, Array<[string, string, ColumnKind]>>();

/** Property, column and how to convert, per entity. MikroORM's connection hands timestamps over as strings. */
function columnMapOf(em: EntityManager, entity: EntityClass<object>): Array<[string, string, ColumnKind]> {
  let columns = columnMaps.get(entity);
  if (!columns) {
    const meta = em.getMetadata().get(entity.name);
    columns = meta.props
      .filter((prop) => prop.fieldNames?.length === 1 && (prop.kind === ReferenceKind.SCALAR || prop.kind === ReferenceKind.MANY_TO_ONE))
      .map((prop): [string, string, ColumnKind] => [
        prop.name,
        prop.fieldNames[0],
        prop.kind === ReferenceKind.MANY_TO_ONE ? 'reference' : prop.runtimeType === 'Date' ? 'date' : 'value',
      ]);
    columnMaps.set(entity, columns);
  }
  return columns;
}
