import type { RenderableFields } from '../graphql/rendered-reads';
import type { RequestContext } from '../request-context';
import type { TrashFilterArgs } from '../trash/trash-listing';
import { isDeletedSql } from '../trash/trashable.entity';
import { Post } from './post/post.entity';
import type { PostListArgs } from './post/post.inputs';
import { User } from './user/user.entity';

/**
 * The fields whose answer PostgreSQL may write itself (see
 * graphql/rendered-reads.ts), each with the service method that gives its
 * listing, so that who sees what stays decided in one place.
 */
export const renderableFields: RenderableFields<RequestContext> = {
  connections: {
    users: { entity: User, listing: ({ services }, args) => services.users.renderedListing(args as unknown as TrashFilterArgs) },
    posts: { entity: Post, listing: ({ services }, args) => services.posts.renderedListing(args as unknown as PostListArgs) },
  },
  unions: {
    trash: {
      listing: ({ services }, args) => {
        // A search's conditions are checked by its input type's validators, which run with the resolver.
        if (args.filter != null) throw new Error('a trash search is not rendered');
        return services.trashBin.renderedListing();
      },
    },
  },
  byId: {
    user: { entity: User, visible: ({ services }, args) => services.users.renderedVisibility(args as { includeDeleted: boolean }) },
    post: { entity: Post, visible: ({ services }, args) => services.posts.renderedVisibility(args as { includeDeleted: boolean }) },
  },
  computed: {
    isDeleted: { properties: ['deletedAt'], sql: isDeletedSql, json: 'boolean' },
  },
  // As `Post.author` resolves: the author whatever its state.
  references: {
    'Post.author': { entity: User, property: 'author' },
  },
  children: {
    'User.posts': {
      entity: Post,
      parentProperty: 'author',
      listing: ({ services }, args) => services.posts.renderedListing(args as unknown as TrashFilterArgs),
    },
  },
  reads: ({ services }) => services.reads,
  // A statement of this path that PostgreSQL refuses is a defect of the path: logged, and the request still answered.
  failed: ({ logger }, error) => logger.error({ err: error }, 'rendered read failed; executed by the resolvers instead'),
};
