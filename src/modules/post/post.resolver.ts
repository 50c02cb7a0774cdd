import { Arg, Args, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { connectionCost } from '../../security/query-limits';
import type { RequestContext } from '../../request-context';
import { DeleteArgs } from '../../trash/trash.args';
import { BulkDeleteArgs, BulkDeletePayload } from '../trash-bin/restore.types';
import { User } from '../user/user.entity';
import { PostConnection } from './post.connection';
import { Post } from './post.entity';
import { CreatePostInput, PostListArgs, UpdatePostInput } from './post.inputs';

@Resolver(() => Post)
export class PostResolver {
  @Query(() => Post, { nullable: true, description: 'Null when missing, or trashed and includeDeleted is false.' })
  post(
    @Arg('id', () => ID) id: string,
    @Arg('includeDeleted', () => Boolean, { defaultValue: false }) includeDeleted: boolean,
    @Ctx() { services }: RequestContext,
  ): Promise<Post | null> {
    return services.posts.findById(id, includeDeleted);
  }

  @Query(() => PostConnection, { description: 'Newest first; with onlyDeleted, newest deletion first.', complexity: connectionCost })
  posts(@Args(() => PostListArgs) args: PostListArgs, @Ctx() { services }: RequestContext): Promise<PostConnection> {
    return services.posts.list(args);
  }

  @FieldResolver(() => User, { description: 'Always resolves, also to an author in the trash.' })
  async author(@Root() post: Post, @Ctx() { services }: RequestContext): Promise<User> {
    const author = await services.users.findInAnyState(post.author.id);
    // Posts are purged with their author, so a post without one is a broken invariant.
    if (!author) throw new Error(`Post ${post.id} has no author ${post.author.id}`);
    return author;
  }

  @Mutation(() => Post, { description: 'NOT_FOUND when the author is missing or in the trash.' })
  createPost(@Arg('input', () => CreatePostInput) input: CreatePostInput, @Ctx() { services }: RequestContext): Promise<Post> {
    return services.posts.create(input);
  }

  @Mutation(() => Post)
  updatePost(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdatePostInput) input: UpdatePostInput,
    @Ctx() { services }: RequestContext,
  ): Promise<Post> {
    return services.posts.update(id, input);
  }

  @Mutation(() => Post, { description: 'Moves the post to the trash; a post already in the trash is returned unchanged.' })
  deletePost(@Args(() => DeleteArgs) { id, reason }: DeleteArgs, @Ctx() { services }: RequestContext): Promise<Post> {
    return services.posts.delete(id, reason);
  }

  @Mutation(() => BulkDeletePayload, {
    description: 'Moves 1-100 posts to the trash as one deletion; all or nothing (extensions.ids names the offending ids).',
  })
  deletePosts(@Args(() => BulkDeleteArgs) { ids, reason }: BulkDeleteArgs, @Ctx() { services }: RequestContext): Promise<BulkDeletePayload> {
    return services.posts.deleteMany(ids, reason);
  }

  @Mutation(() => Post, { description: 'PRECONDITION_FAILED while its author is in the trash; a live post is returned unchanged.' })
  restorePost(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<Post> {
    return services.posts.restore(id);
  }

  @Mutation(() => Int, { description: 'Permanently deletes a trashed post; returns the rows removed.' })
  purgePost(@Arg('id', () => ID) id: string, @Ctx() { services }: RequestContext): Promise<number> {
    return services.posts.purge(id);
  }
}
