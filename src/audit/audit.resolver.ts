import { Args, ArgsType, Ctx, Field, ID, Query, Resolver } from 'type-graphql';
import { connectionCost } from '../security/query-limits';
import type { RequestContext } from '../request-context';
import { connectionTypeFor, PageArgs } from '../graphql/connection';
import { AuditEvent } from './audit-event.entity';

export const AuditEventConnection = connectionTypeFor(AuditEvent, 'AuditEvent');
export type AuditEventConnection = InstanceType<typeof AuditEventConnection>;

@ArgsType()
class AuditEventsArgs extends PageArgs {
  @Field(() => ID, { nullable: true, description: 'Only events about this record.' })
  entityId?: string | null;
}

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: 'Newest first.', complexity: connectionCost })
  async auditEvents(@Args(() => AuditEventsArgs) args: AuditEventsArgs, @Ctx() { services }: RequestContext): Promise<AuditEventConnection> {
    const { page, countTotal } = await services.audit.list(args);
    return AuditEventConnection.of(page, countTotal);
  }
}
