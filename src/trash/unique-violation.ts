import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError } from '../errors';
import type { AnyTrashPolicy } from './trash-policy';

/** How often a RENAME restore picks again after a concurrent writer took the value it picked. */
const RENAME_ATTEMPTS = 5;

export function clashError(typeName: string, field: string, conflictingId?: string): ConflictError {
  return new ConflictError(`Another live ${typeName.toLowerCase()} already has this ${field}`, {
    field,
    ...(conflictingId ? { conflictingId } : {}),
  });
}

/**
 * Runs `work` in a transaction. The database is the final judge of uniqueness
 * (it sees concurrent writers): a violation of a live-only unique index of
 * `policies` becomes CONFLICT naming the field, or, with `retryUniqueViolations`
 * (a RENAME restore whose picked value was taken meanwhile), runs `work` again
 * from the start, up to a few times, so that it picks anew.
 */
export async function transactionalJudgedByUniqueIndexes<R>(
  em: EntityManager,
  work: (em: EntityManager) => Promise<R>,
  options: { policies: readonly AnyTrashPolicy[]; retryUniqueViolations: boolean },
): Promise<R> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await em.transactional(work);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      if (options.retryUniqueViolations && attempt < RENAME_ATTEMPTS) continue;
      const constraint = (error as { constraint?: string }).constraint;
      for (const policy of options.policies) {
        const key = policy.uniqueKeys.find((candidate) => candidate.constraint === constraint);
        if (key) throw clashError(policy.typeName, key.field);
      }
      throw error;
    }
  }
}
