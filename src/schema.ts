import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { DateTimeISOResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { AuditResolver } from './audit/audit.resolver';
import { NodeResolver } from './modules/node/node.resolver';
import { PostResolver } from './modules/post/post.resolver';
import { TrashBinResolver } from './modules/trash-bin/trash-bin.resolver';
import { UserResolver } from './modules/user/user.resolver';
import { rejectUnstorableInput } from './validation/storable-input';

/** The GraphQL schema, built from the resolvers and the decorated types. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [UserResolver, PostResolver, TrashBinResolver, AuditResolver, NodeResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeISOResolver }],
    globalMiddlewares: [rejectUnstorableInput],
    validate: { forbidUnknownValues: false },
  });
}

/** SDL as committed in schema.graphql, sorted so that diffs show real changes only. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
