import type { ObjectQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import { readKeysetCount, readKeysetRowsWithChildren } from '../../db/compiled/keyset-reads';
import type { Page } from '../../graphql/connection';
import { decodeAfter, findKeysetPage, toPage, type KeysetPageRequest } from '../../graphql/keyset-page';
import type { RenderedListing } from '../../graphql/rendered-reads';
import { nestedConnectionSelection } from '../../graphql/selection';
import type { PostService, PostsOfAuthors } from '../post/post.service';
import type { ServiceContext } from '../../service-context';
import { RowCounts } from '../../trash/row-counts';
import type { TrashFilterArgs } from '../../trash/trash-listing';
import { withoutSoftDelete } from '../../trash/trashable.entity';
import { OnConflict } from '../../trash/restore-set';
import { TrashService, type BulkTrashResult } from '../../trash/trash.service';
import { userTrashPolicy } from '../trash-policies';
import { UserConnection } from './user.connection';
import { User } from './user.entity';
import type { CreateUserInput, UpdateUserInput } from './user.inputs';

/** Whether the user exists and is not in the trash; what makes a member's token good for writes. */
export async function isLiveUser(em: EntityManager, id: string): Promise<boolean> {
  return (await em.count(User, { id })) > 0;
}

/** The rules for users; the trash rules themselves live in TrashService. */
export class UserService {
  private readonly trash: TrashService<User>;
  /** Users by id, trashed ones included, batched per request (for `Post.author`). */
  private readonly anyStateById: DataLoader<string, User | null>;

  constructor(
    private readonly context: ServiceContext,
    private readonly posts: PostService,
  ) {
    this.trash = new TrashService(userTrashPolicy, context);
    this.anyStateById = new DataLoader(async (ids) => {
      const users = await context.em.find(User, { id: { $in: [...ids] } }, withoutSoftDelete);
      const byId = new Map(users.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  findById(id: string, includeDeleted: boolean): Promise<User | null> {
    return this.trash.findById(id, { includeDeleted });
  }

  /** A user whether live or trashed; a post's author always resolves, even from the trash. */
  findInAnyState(id: string): Promise<User | null> {
    return this.anyStateById.load(id);
  }

  /**
   * A page of users. When the request also asks for each user's posts (`info`
   * tells), they are read in the same statement and handed to `User.posts`.
   */
  async list(args: TrashFilterArgs, info?: GraphQLResolveInfo): Promise<UserConnection> {
    const { counted, ...listing } = this.trash.listing(args);
    const request: KeysetPageRequest<User> = { entity: User, ...listing, first: args.first, after: args.after };
    const nested = info && nestedConnectionSelection(info, 'posts');
    const posts = nested ? this.posts.postsOfAuthors(nested) : undefined;
    const page = posts ? await this.pageWithPosts(request, posts) : await findKeysetPage(this.context.reads, request);
    const reads = this.context.reads;
    return UserConnection.of(page, counted ? () => new RowCounts(reads).count(User, counted) : () => readKeysetCount(reads, request));
  }

  /** `list`'s listing, for a response the database writes (graphql/rendered-reads.ts). */
  renderedListing(args: TrashFilterArgs): RenderedListing {
    return this.trash.renderedListing(args);
  }

  /** `findById`'s visibility, for a response the database writes (graphql/rendered-reads.ts). */
  renderedVisibility(args: { includeDeleted: boolean }): ObjectQuery<User> {
    return this.trash.renderedVisibility(args);
  }

  /** The users page and each user's posts page in one statement; the users are also every listed post's author. */
  private async pageWithPosts(request: KeysetPageRequest<User>, posts: PostsOfAuthors): Promise<Page<User>> {
    const rows = await readKeysetRowsWithChildren(this.context.reads, { ...request, after: decodeAfter(request) }, posts.query);
    for (const { parent, children, childTotal } of rows.slice(0, request.first)) {
      posts.store(parent.id, children, childTotal);
      this.anyStateById.prime(parent.id, parent);
    }
    return toPage(rows.map((row) => row.parent), request);
  }

  create(input: CreateUserInput): Promise<User> {
    const user = this.context.em.create(
      User,
      { username: input.username, email: input.email, displayName: input.displayName ?? null },
      { persist: false },
    );
    return this.trash.create(user);
  }

  update(id: string, input: UpdateUserInput): Promise<User> {
    return this.trash.update(id, input.expectedVersion, (user) => {
      if (input.username != null) user.username = input.username;
      if (input.email != null) user.email = input.email;
      if (input.displayName !== undefined) user.displayName = input.displayName;
    });
  }

  /** Moves the user and its live posts to the trash as one deletion. */
  delete(id: string, reason: string | null | undefined): Promise<User> {
    return this.trash.moveToTrash(id, reason);
  }

  /** Brings back the user and exactly the posts its deletion took. */
  restore(id: string, onConflict: OnConflict = OnConflict.FAIL): Promise<User> {
    return this.trash.restoreFromTrash(id, onConflict);
  }

  /** Moves several users and their live posts to the trash as one deletion, all or nothing. */
  deleteMany(ids: string[], reason: string | null | undefined): Promise<BulkTrashResult<User>> {
    return this.trash.moveManyToTrash(ids, reason);
  }

  /** Deletes a trashed user and all of its posts for good; returns the rows removed. */
  purge(id: string): Promise<number> {
    return this.trash.purge(id);
  }
}
