import { Field, ID, InterfaceType } from 'type-graphql';

/**
 * Relay's global object identification. Ids stay the records' own UUIDv7s:
 * they are unique across tables, so `node(id)` needs no type prefix, and the
 * `id` a client already holds is the one it refetches with.
 */
@InterfaceType('Node', { description: "Relay global object identification; ids are the records' raw UUIDs (unique across tables)." })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}
