import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { PageArgs } from '../../graphql/connection';
import { OnConflict } from '../../trash/restore-set';
import { RestoreDeletionPayload } from './restore.types';
import { EmptyTrashProgress, RestorePreview, TrashConnection } from './trash-bin.types';
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

  @Query(() => RestorePreview, {
    description: 'What restoring this id (or undoing this deletion) would bring back, and what stands in the way. Give exactly one of id and deletionId.',
  })
  async restorePreview(
    @Arg('id', () => ID, { nullable: true }) id: string | null,
    @Arg('deletionId', () => ID, { nullable: true }) deletionId: string | null,
    @Arg('onConflict', () => OnConflict, { defaultValue: OnConflict.FAIL }) onConflict: OnConflict,
    @Ctx() { services }: RequestContext,
  ): Promise<RestorePreview> {
    return RestorePreview.of(await services.trashBin.preview({ id, deletionId, onConflict }));
  }

  @Mutation(() => RestoreDeletionPayload, {
    description: 'Undo: restores every record that carries this deletion id, whatever its type, or nothing (CONFLICT, PRECONDITION_FAILED).',
  })
  restoreDeletion(
    @Arg('deletionId', () => ID) deletionId: string,
    @Arg('onConflict', () => OnConflict, { defaultValue: OnConflict.FAIL }) onConflict: OnConflict,
    @Ctx() { services }: RequestContext,
  ): Promise<RestoreDeletionPayload> {
    return services.trashBin.restoreDeletion(deletionId, onConflict);
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
