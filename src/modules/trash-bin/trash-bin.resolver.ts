import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { PageArgs } from '../../trash/pagination';
import { RestorePreview, TrashConnection } from './trash-bin.types';
import { TrashFilter } from './trash-filter.input';

@Resolver()
export class TrashBinResolver {
  @Query(() => TrashConnection, { description: 'Everything in the trash, newest deletion first.', complexity: connectionCost })
  async trash(
    @Args(() => PageArgs) args: PageArgs,
    @Arg('filter', () => TrashFilter, { nullable: true, description: 'Only what matches every condition given.' }) filter: TrashFilter | null,
    @Ctx() { services }: RequestContext,
  ): Promise<TrashConnection> {
    const { page, countTotal } = await services.trashBin.list(args, filter ?? {});
    return TrashConnection.of(page, countTotal);
  }

  @Query(() => RestorePreview, { description: 'What restoring this id would bring back, and what stands in the way.' })
  restorePreview(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<RestorePreview> {
    return services.trashBin.preview(id);
  }

  @Mutation(() => Int, { description: 'Purges everything trashed before olderThan (default: now); returns the rows removed.' })
  emptyTrash(
    @Arg('olderThan', () => Date, { nullable: true }) olderThan: Date | null,
    @Ctx() { services }: RequestContext,
  ): Promise<number> {
    return services.trashBin.empty(olderThan);
  }
}
