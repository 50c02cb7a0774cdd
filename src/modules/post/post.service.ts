import type { ObjectQuery } from '@mikro-orm/core';
import type { ChildPageQuery } from '../../db/compiled/keyset-reads';
import { isUuid } from '../../db/ids';
import { isPageSize } from '../../graphql/connection';
import { decodeAfter, listKeysetPage, toPage } from '../../graphql/keyset-page';
import type { NestedConnectionSelection } from '../../graphql/selection';
import type { RenderedListing } from '../../graphql/rendered-reads';
import { ChildConnectionLoader, type Listing } from '../../trash/child-connection.loader';
import type { ServiceContext } from '../../service-context';
import { RowCounts } from '../../trash/row-counts';
import type { TrashFilterArgs } from '../../trash/trash-listing';
import { TrashService, type BulkTrashResult, type ParentRestriction } from '../../trash/trash.service';
import { postTrashPolicy } from '../trash-policies';
import { PostConnection } from './post.connection';
import { Post } from './post.entity';
import type { CreatePostInput, PostListArgs, UpdatePostInput } from './post.inputs';

/** The rules for posts; the trash rules themselves live in TrashService. */
export class PostService {
  private readonly trash: TrashService<Post>;
  private readonly byAuthor: ChildConnectionLoader<Post>;

  constructor(private readonly context: ServiceContext) {
    this.trash = new TrashService(postTrashPolicy, context);
    this.byAuthor = new ChildConnectionLoader(context.reads, Post, 'author');
  }

  findById(id: string, includeDeleted: boolean): Promise<Post | null> {
    return this.trash.findById(id, { includeDeleted });
  }

  async list(args: PostListArgs): Promise<PostConnection> {
    const listing = this.trash.listing(args, byAuthor(args.authorId));
    const request = { entity: Post, order: listing.order, where: listing.where, first: args.first, after: args.after };
    const { page, countTotal } = await listKeysetPage(this.context.reads, request, args.authorId);
    const counted = listing.counted;
    // An author id that is not a UUID lists nothing, and listKeysetPage already answers 0 for it.
    const countable = counted && (args.authorId == null || isUuid(args.authorId));
    return PostConnection.of(page, countable ? () => new RowCounts(this.context.reads).count(Post, counted, args.authorId ?? undefined) : countTotal);
  }

  /**
   * The listing of `list`, and of `User.posts` under each author, for a
   * response the database writes (graphql/rendered-reads.ts). An author id
   * that is not a UUID lists nothing, which `list` answers without a statement.
   */
  renderedListing(args: TrashFilterArgs & { authorId?: string | null }): RenderedListing {
    if (args.authorId == null) return this.trash.renderedListing(args);
    // Not rendered (the renderer executes the request instead): `list` answers it, with an empty page.
    if (!isUuid(args.authorId)) throw new Error('an author id that is not a UUID is left to list()');
    return this.trash.renderedListing(args, byAuthor(args.authorId));
  }

  /** `findById`'s visibility, for a response the database writes (graphql/rendered-reads.ts). */
  renderedVisibility(args: { includeDeleted: boolean }): ObjectQuery<Post> {
    return this.trash.renderedVisibility(args);
  }

  /** `User.posts`: batched across every user of the response. */
  async listByAuthor(authorId: string, args: TrashFilterArgs): Promise<PostConnection> {
    const listing = this.trash.listing(args);
    const page = await this.byAuthor.page(authorId, listing, args);
    return PostConnection.of(page, () => this.byAuthor.count(authorId, listing));
  }

  /**
   * `User.posts` read in the same statement as a page of users: the child
   * query, and where its pages go (the batched loader, primed, so the nested
   * fields run no statement). Undefined when the arguments are not valid or
   * not allowed to this principal: the nested field then runs as usual and
   * reports the error itself.
   */
  postsOfAuthors(selection: NestedConnectionSelection): PostsOfAuthors | undefined {
    const args = selection.args as unknown as TrashFilterArgs;
    if (!isPageSize(args.first)) return undefined;
    let listing: Listing<Post>;
    let after;
    try {
      listing = this.trash.listing(args);
      after = decodeAfter({ after: args.after, order: listing.order });
    } catch {
      return undefined;
    }
    const counted = selection.totalCount ? listing.counted : undefined;
    const counts = new RowCounts(this.context.reads);
    return {
      query: {
        entity: Post,
        parentProperty: 'author',
        first: args.first,
        after,
        order: listing.order,
        where: listing.where,
        // A count the counters cannot answer (a member's own trashed posts) stays with the batched count query.
        total: counted && { key: `rowCounts:${counted}`, sql: (authorId) => counts.countSql(Post, counted, authorId) },
      },
      store: (authorId, posts, total) => this.byAuthor.prime(authorId, listing, args, toPage(posts, { first: args.first, order: listing.order }), total),
    };
  }

  create(input: CreatePostInput): Promise<Post> {
    const post = this.context.em.create(Post, { author: input.authorId, title: input.title, body: input.body }, { persist: false });
    return this.trash.create(post);
  }

  update(id: string, input: UpdatePostInput): Promise<Post> {
    return this.trash.update(id, input.expectedVersion, (post) => {
      if (input.title != null) post.title = input.title;
      if (input.body != null) post.body = input.body;
    });
  }

  delete(id: string, reason: string | null | undefined): Promise<Post> {
    return this.trash.moveToTrash(id, reason);
  }

  /** Fails with PRECONDITION_FAILED while the author is in the trash. */
  restore(id: string): Promise<Post> {
    return this.trash.restoreFromTrash(id);
  }

  /** Moves several posts to the trash as one deletion, all or nothing. */
  deleteMany(ids: string[], reason: string | null | undefined): Promise<BulkTrashResult<Post>> {
    return this.trash.moveManyToTrash(ids, reason);
  }

  purge(id: string): Promise<number> {
    return this.trash.purge(id);
  }
}

/** One author's posts, or every post when no author is given. */
function byAuthor(authorId: string | null | undefined): ParentRestriction<Post> | undefined {
  return authorId != null ? { property: 'author', id: authorId } : undefined;
}

/** See `PostService.postsOfAuthors`. */
export interface PostsOfAuthors {
  query: ChildPageQuery<Post>;
  store(authorId: string, posts: Post[], total: number | undefined): void;
}
