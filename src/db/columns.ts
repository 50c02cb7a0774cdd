import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** Column behind an entity property, for the few conditions written as SQL (row comparisons, lower()). */
export function columnName(em: EntityManager, entity: EntityClass<object>, property: string): string {
  const meta = em.getMetadata().get(entity.name);
  const prop = meta.properties[property as never] as { fieldNames: string[] } | undefined;
  if (!prop) throw new Error(`${entity.name} has no property ${property}`);
  return prop.fieldNames[0];
}
