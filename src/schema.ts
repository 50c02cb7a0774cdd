import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { DateTimeISOResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { AuditResolver } from './audit/audit.resolver';
import { NodeResolver } from './modules/node/node.resolver';
import { PostResolver } from './modules/post/post.resolver';
import { TrashBinResolver } from './modules/trash-bin/trash-bin.resolver';
import { TrashEventsResolver } from './modules/trash-bin/trash-events.resolver';
import { UserResolver } from './modules/user/user.resolver';
import { validateArguments } from './validation/validate-arguments';

/** The GraphQL schema, built from the resolvers and the decorated types. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [UserResolver, PostResolver, TrashBinResolver, TrashEventsResolver, AuditResolver, NodeResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeISOResolver }],
    validateFn: validateArguments,
    // Every subscription brings its own event source (`subscribe`), so type-graphql's topic-based PubSub is never used.
    pubSub: {
      publish: () => {
        throw new Error('Topic-based PubSub is not used: subscriptions take their events from their own `subscribe`');
      },
      subscribe: () => {
        throw new Error('Topic-based PubSub is not used: subscriptions take their events from their own `subscribe`');
      },
    },
  });
}

/** SDL as committed in schema.graphql, sorted so that diffs show real changes only. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
