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
