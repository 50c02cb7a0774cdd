import { validate as isValidUuid, v7 as uuidv7 } from 'uuid';

/** New record and operation ids: UUIDv7, so they sort by creation time. */
export function newId(): string {
  return uuidv7();
}

/** Ids are UUIDs; anything else can only be "not found", and must not reach SQL as a uuid cast error. */
export function isUuid(value: string): boolean {
  return isValidUuid(value);
}
