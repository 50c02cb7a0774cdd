import type { EntityManager } from '@mikro-orm/postgresql';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { SYSTEM, type Principal } from './principal';

/** The users table's live check, without importing the user module into the mechanics. */
export type IsUserLive = (em: EntityManager, userId: string) => Promise<boolean>;

/**
 * The one place that decides what a principal may see and do. Services ask
 * it; resolvers never decide. Anonymous callers are told to log in
 * (UNAUTHENTICATED) where members would be refused (FORBIDDEN).
 */
export class Access {
  private activeWriter: Promise<boolean> | undefined;

  /** `em` is called only when a check needs the database (a member's first write), so a read-only request never forks one. */
  constructor(
    readonly principal: Principal,
    private readonly em: () => EntityManager,
    private readonly isUserLive: IsUserLive,
  ) {}

  /** Recorded as `deletedBy` and as the audit events' `actorId`. */
  get actorId(): string | null {
    return this.principal.id;
  }

  get isAdmin(): boolean {
    return this.principal.role === 'admin' || this.principal.role === 'system';
  }

  /** Reading the trash needs a principal. */
  requireSignedIn(): void {
    if (this.principal.role === 'anonymous') throw new UnauthenticatedError();
  }

  requireAdmin(): void {
    this.requireSignedIn();
    if (!this.isAdmin) throw new ForbiddenError('Only an admin may do this');
  }

  /**
   * Whose trashed records this principal may see: everyone's (null) for an
   * admin, only its own for a member. Anonymous callers see none.
   */
  trashedOwnerScope(): string | null {
    this.requireSignedIn();
    return this.isAdmin ? null : this.principal.id;
  }

  mayViewTrashedOf(ownerId: string): boolean {
    return this.principal.role !== 'anonymous' && (this.isAdmin || this.principal.id === ownerId);
  }

  /**
   * Every write needs a principal, and a member's own user must be live: a
   * member whose user is trashed or purged may no longer write, whatever its token says.
   */
  async requireActiveWriter(): Promise<void> {
    this.requireSignedIn();
    if (this.isAdmin) return;
    this.activeWriter ??= this.isUserLive(this.em(), this.principal.id!);
    if (!(await this.activeWriter)) throw new ForbiddenError('Your user is in the trash or gone: writes are not allowed');
  }

  /**
   * A member may change only what it owns. Another's trashed record is
   * reported exactly like a missing one, so the trash cannot be probed.
   */
  requireOwnerOf(ownerId: string, record: { deletedAt: Date | null }, notFound: () => Error): void {
    const verdict = this.ownershipOf(ownerId, record);
    if (verdict === 'hidden') throw notFound();
    if (verdict === 'forbidden') throw new ForbiddenError('Members may change only their own records');
  }

  /** `requireOwnerOf` as a verdict, for calls that report every offending record at once. */
  ownershipOf(ownerId: string, record: { deletedAt: Date | null }): 'allowed' | 'hidden' | 'forbidden' {
    if (this.isAdmin || this.principal.id === ownerId) return 'allowed';
    return record.deletedAt ? 'hidden' : 'forbidden';
  }

  /**
   * A member may undo, or preview the undo of, only deletions it made itself:
   * every row of the deletion must carry its id as `deletedBy`. Any other
   * deletion answers exactly as a missing one.
   */
  requireOwnDeletion(deletedBy: ReadonlyArray<string | null>, notFound: () => Error): void {
    this.requireSignedIn();
    if (this.isAdmin) return;
    if (deletedBy.some((actorId) => actorId !== this.principal.id)) throw notFound();
  }
}

/** Access of the server itself (retention job, command-line tools): admin rights, no id. */
export function systemAccess(em: EntityManager): Access {
  return new Access(SYSTEM, () => em, async () => true);
}
