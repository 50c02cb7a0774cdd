import { findKeysetPage, visibilityOf, type TrashFilterArgs } from '../../trash/pagination';
import { TrashService, type ServiceContext } from '../../trash/trash.service';
import { UserConnection } from './user.connection';
import { User, userTrashPolicy } from './user.entity';
import type { CreateUserInput, UpdateUserInput } from './user.inputs';

/** The rules for users; the trash rules themselves live in TrashService. */
export class UserService {
  private readonly trash: TrashService<User>;

  constructor(private readonly context: ServiceContext) {
    this.trash = new TrashService(userTrashPolicy, context);
  }

  findById(id: string, includeDeleted: boolean): Promise<User | null> {
    return this.trash.findById(id, { includeDeleted });
  }

  async list(args: TrashFilterArgs): Promise<UserConnection> {
    const page = await findKeysetPage(this.context.em, {
      entity: User,
      first: args.first,
      after: args.after,
      visibility: visibilityOf(args),
    });
    return UserConnection.of(page.edges, page.hasNextPage, page.countTotal);
  }

  create(input: CreateUserInput): Promise<User> {
    const user = this.context.em.create(User, {
      username: input.username,
      email: input.email,
      displayName: input.displayName ?? null,
    });
    return this.trash.create(user);
  }

  update(id: string, input: UpdateUserInput): Promise<User> {
    return this.trash.update(id, input.expectedVersion, (user) => {
      if (input.username != null) user.username = input.username;
      if (input.email != null) user.email = input.email;
      if (input.displayName !== undefined) user.displayName = input.displayName;
    });
  }

  delete(id: string, reason: string | null | undefined): Promise<User> {
    return this.trash.moveToTrash(id, reason);
  }

  restore(id: string): Promise<User> {
    return this.trash.restoreFromTrash(id);
  }
}
