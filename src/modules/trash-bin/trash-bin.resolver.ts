import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { PageArgs } from '../../trash/pagination';
import { EmptyTrashProgress, RestorePreview, TrashConnection } from './trash-bin.types';

@Resolver()
export class TrashBinResolver {
  @Query(() => TrashConnection, { description: 'Everything in the trash, newest deletion first.', complexity: connectionCost })
  async trash(@Args(() => PageArgs) args: PageArgs, @Ctx() { services }: RequestContext): Promise<TrashConnection> {
    const { page, countTotal } = await services.trashBin.list(args);
    return TrashConnection.of(page, countTotal);
  }

  @Query(() => RestorePreview, { description: 'What restoring this id would bring back, and what stands in the way.' })
  restorePreview(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<RestorePreview> {
    return services.trashBin.preview(id);
  }

  @Mutation(() => Int, {
    description:
      'Purges what was trashed before olderThan (default: now), at most limit records with their children per call; ' +
      'returns the rows removed. Call again until it returns 0, or use emptyTrashStep to see what remains.',
  })
  emptyTrash(
    @Arg('olderThan', () => Date, { nullable: true }) olderThan: Date | null,
    @Arg('limit', () => Int, { nullable: true, description: 'Most records to purge in this call; default and ceiling: the server\'s EMPTY_TRASH_MAX_RECORDS.' })
    limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<number> {
    return services.trashBin.empty(olderThan, limit);
  }

  @Mutation(() => EmptyTrashProgress, { description: 'One bounded emptyTrash call that also reports how many due rows remain.' })
  emptyTrashStep(
    @Arg('olderThan', () => Date, { nullable: true }) olderThan: Date | null,
    @Arg('limit', () => Int, { nullable: true, description: 'Most records to purge in this call; default and ceiling: the server\'s EMPTY_TRASH_MAX_RECORDS.' })
    limit: number | null,
    @Ctx() { services }: RequestContext,
  ): Promise<EmptyTrashProgress> {
    return services.trashBin.emptyStep(olderThan, limit);
  }
}
