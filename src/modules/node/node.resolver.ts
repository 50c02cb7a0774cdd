import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { perIdCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { Node } from '../../graphql/node.interface';
import { MAX_NODE_IDS } from './node.service';

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description: 'The User, Post or AuditEvent with this id; null when missing, or not visible to the caller as user/post/auditEvents decide.',
  })
  node(
    @Arg('id', () => ID) id: string,
    @Arg('includeDeleted', () => Boolean, { defaultValue: false }) includeDeleted: boolean,
    @Ctx() { services }: RequestContext,
  ): Promise<object | null> {
    return services.nodes.findOne(id, includeDeleted);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: `node(id) for each of up to ${MAX_NODE_IDS} ids, in the order given.`,
    complexity: perIdCost,
  })
  nodes(
    @Arg('ids', () => [ID]) ids: string[],
    @Arg('includeDeleted', () => Boolean, { defaultValue: false }) includeDeleted: boolean,
    @Ctx() { services }: RequestContext,
  ): Promise<Array<object | null>> {
    return services.nodes.findMany(ids, includeDeleted);
  }
}
