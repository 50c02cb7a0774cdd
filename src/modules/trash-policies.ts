import type { AnyTrashPolicy, TrashPolicy } from '../trash/trash-policy';
import { Post } from './post/post.entity';
import { User } from './user/user.entity';
import { USERNAME_MAX_LENGTH } from './user/user.inputs';

/** `ada` -> `ada-restored`, `ada-restored-2`, ...: the base is cut so the result stays a valid username. */
export function restoredUsername(username: string, attempt: number): string {
  const suffix = attempt === 1 ? '-restored' : `-restored-${attempt}`;
  return username.slice(0, USERNAME_MAX_LENGTH - suffix.length) + suffix;
}

/** A user's posts go to the trash with it, come back with it and are purged with it. */
export const userTrashPolicy: TrashPolicy<User> = {
  entity: User,
  typeName: 'User',
  uniqueKeys: [
    { field: 'username', constraint: 'users_username_live_unique', freeVariant: restoredUsername },
    { field: 'email', constraint: 'users_email_live_unique' },
  ],
  ownerOf: (user) => user.id,
  ownerProperty: 'id',
  // Accounts are created and brought back by admins; a member may trash itself.
  permissions: { create: 'admin', restore: 'admin' },
  cascadesTo: () => [{ policy: postTrashPolicy, parentProperty: 'author' }],
  requiresLive: () => [],
  searchProperties: ['username', 'email', 'displayName'],
};

/** A post cannot come back while its author is in the trash. */
export const postTrashPolicy: TrashPolicy<Post> = {
  entity: Post,
  typeName: 'Post',
  uniqueKeys: [],
  ownerOf: (post) => post.author.id,
  ownerProperty: 'author',
  permissions: { create: 'owner', restore: 'owner' },
  cascadesTo: () => [],
  requiresLive: () => [{ policy: userTrashPolicy, property: 'author', role: 'author' }],
  searchProperties: ['title'],
};

/** Every trashable entity, parents before children: the trash listing and purges go through these in this order. */
export const trashPolicies: readonly AnyTrashPolicy[] = [userTrashPolicy, postTrashPolicy];
