import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../request-context';
import { TrashFilterArgs } from '../../trash/pagination';
import { DeleteArgs } from '../../trash/trash.args';
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

  @Query(() => UserConnection, { description: 'Newest first; with onlyDeleted, newest deletion first.' })
  users(@Args(() => TrashFilterArgs) args: TrashFilterArgs, @Ctx() { services }: RequestContext): Promise<UserConnection> {
    return services.users.list(args);
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

  @Mutation(() => User, { description: 'Moves the user to the trash and returns it; a user already in the trash is returned unchanged.' })
  deleteUser(@Args(() => DeleteArgs) { id, reason }: DeleteArgs, @Ctx() { services }: RequestContext): Promise<User> {
    return services.users.delete(id, reason);
  }

  @Mutation(() => User, { description: 'Takes the user out of the trash; a live user is returned unchanged.' })
  restoreUser(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<User> {
    return services.users.restore(id);
  }
}
