import type { EntityClass, MetadataStorage } from '@mikro-orm/core';

/** An EntityManager or the MikroORM instance: either knows the entities' metadata. */
export interface HasMetadata {
  getMetadata(): MetadataStorage;
}

/** Table behind an entity, for the statements written as SQL. */
export function tableName(source: HasMetadata, entity: EntityClass<object>): string {
  return source.getMetadata().get(entity.name).tableName;
}

/** Column behind an entity property, for the few conditions written as SQL (row comparisons, lower()). */
export function columnName(source: HasMetadata, entity: EntityClass<object>, property: string): string {
  const meta = source.getMetadata().get(entity.name);
  const prop = meta.properties[property as never] as { fieldNames: string[] } | undefined;
  if (!prop) throw new Error(`${entity.name} has no property ${property}`);
  return prop.fieldNames[0];
}

/**
 * `Entity.property` of every property stored as a uuid or as text of at most
 * `maxLength` characters (varchar(n), n <= maxLength): values whose size the
 * schema itself bounds.
 */
export function shortTextProperties(source: HasMetadata, maxLength: number): Set<string> {
  const short = new Set<string>();
  for (const meta of Object.values(source.getMetadata().getAll())) {
    if (meta.abstract) continue;
    for (const prop of Object.values(meta.properties) as Array<{ name: string; columnTypes?: string[] }>) {
      const column = prop.columnTypes?.length === 1 ? prop.columnTypes[0] : undefined;
      const varchar = column && /^varchar\((\d+)\)$/.exec(column);
      if (column === 'uuid' || (varchar && Number(varchar[1]) <= maxLength)) short.add(`${meta.className}.${prop.name}`);
    }
  }
  return short;
}
