import { ChildConnectionLoader } from '../../trash/child-connection.loader';
import { isUuid } from '../../db/ids';
import { listKeysetPage } from '../../graphql/keyset-page';
import type { ServiceContext } from '../../service-context';
import { RowCounts } from '../../trash/row-counts';
import type { TrashFilterArgs } from '../../trash/trash-listing';
import { TrashService, type BulkTrashResult } from '../../trash/trash.service';
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
    this.byAuthor = new ChildConnectionLoader(context.em, Post, 'author');
  }

  findById(id: string, includeDeleted: boolean): Promise<Post | null> {
    return this.trash.findById(id, { includeDeleted });
  }

  async list(args: PostListArgs): Promise<PostConnection> {
    const listing = this.trash.listing(args);
    const byAuthor = args.authorId != null ? { author: args.authorId } : {};
    const request = { entity: Post, order: listing.order, where: { $and: [listing.where, byAuthor] }, first: args.first, after: args.after };
    const { page, countTotal } = await listKeysetPage(this.context.em, request, args.authorId);
    const counted = listing.counted;
    // An author id that is not a UUID lists nothing, and listKeysetPage already answers 0 for it.
    const countable = counted && (args.authorId == null || isUuid(args.authorId));
    return PostConnection.of(page, countable ? () => new RowCounts(this.context.em).count(Post, counted, args.authorId ?? undefined) : countTotal);
  }

  /** `User.posts`: batched across every user of the response. */
  async listByAuthor(authorId: string, args: TrashFilterArgs): Promise<PostConnection> {
    const listing = this.trash.listing(args);
    const page = await this.byAuthor.page(authorId, listing, args);
    return PostConnection.of(page, () => this.byAuthor.count(authorId, listing));
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
