import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { OnConflict } from '../../trash/restore-set';
import { DeleteArgs } from '../../trash/trash.args';
import { BulkDeleteArgs, BulkDeletePayload } from '../trash-bin/restore.types';
import { TrashFilterArgs } from '../../trash/trash-listing';
import { PostConnection } from '../post/post.connection';
import { UserConnection } from './user.connection';
import { User } from './user.entity';
import { CreateUserInput, UpdateUserInput } from './user.inputs';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'Null when missing, or trashed and includeDeleted is false.' })
  user(
    @Arg('id', () => ID) id: string,
    @Arg('includeDeleted', () => Boolean, { defaultValue: false }) includeDeleted: boolean,
    @Ctx() { services }: RequestContext,
  ): Promise<User | null> {
    return services.users.findById(id, includeDeleted);
  }

  @Query(() => UserConnection, { description: 'Newest first; with onlyDeleted, newest deletion first.', complexity: connectionCost })
  users(@Args(() => TrashFilterArgs) args: TrashFilterArgs, @Ctx() { services }: RequestContext): Promise<UserConnection> {
    return services.users.list(args);
  }

  @FieldResolver(() => PostConnection, { description: "The user's posts, newest first; live ones unless asked.", complexity: connectionCost })
  posts(@Root() user: User, @Args(() => TrashFilterArgs) args: TrashFilterArgs, @Ctx() { services }: RequestContext): Promise<PostConnection> {
    return services.posts.listByAuthor(user.id, args);
  }

  @Mutation(() => User)
  createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() { services }: RequestContext): Promise<User> {
    return services.users.create(input);
  }

  @Mutation(() => User)
  updateUser(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateUserInput) input: UpdateUserInput,
    @Ctx() { services }: RequestContext,
  ): Promise<User> {
    return services.users.update(id, input);
  }

  @Mutation(() => User, {
    description: 'Moves the user and its live posts to the trash as one deletion; a user already in the trash is returned unchanged.',
  })
  deleteUser(@Args(() => DeleteArgs) { id, reason }: DeleteArgs, @Ctx() { services }: RequestContext): Promise<User> {
    return services.users.delete(id, reason);
  }

  @Mutation(() => User, {
    description: 'Takes the user out of the trash with exactly the posts its deletion took; a live user is returned unchanged.',
  })
  restoreUser(
    @Arg('id', () => ID) id: string,
    @Arg('onConflict', () => OnConflict, { defaultValue: OnConflict.FAIL }) onConflict: OnConflict,
    @Ctx() { services }: RequestContext,
  ): Promise<User> {
    return services.users.restore(id, onConflict);
  }

  @Mutation(() => BulkDeletePayload, {
    description: 'Moves 1-100 users, with their live posts, to the trash as one deletion; all or nothing (extensions.ids names the offending ids).',
  })
  deleteUsers(@Args(() => BulkDeleteArgs) { ids, reason }: BulkDeleteArgs, @Ctx() { services }: RequestContext): Promise<BulkDeletePayload> {
    return services.users.deleteMany(ids, reason);
  }

  @Mutation(() => Int, { description: 'Permanently deletes a trashed user and all of its posts; returns the rows removed.' })
  purgeUser(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<number> {
    return services.users.purge(id);
  }
}
