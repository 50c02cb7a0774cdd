import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { PageArgs } from '../../graphql/connection';
import { OnConflict } from '../../trash/restore-set';
import { RestoreDeletionPayload } from './restore.types';
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

  @Mutation(() => Int, { description: 'Purges everything trashed before olderThan (default: now); returns the rows removed.' })
  emptyTrash(
    @Arg('olderThan', () => Date, { nullable: true }) olderThan: Date | null,
    @Ctx() { services }: RequestContext,
  ): Promise<number> {
    return services.trashBin.empty(olderThan);
  }
}
