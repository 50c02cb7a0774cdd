import { isUuid } from '../db/ids';
import type { Cursor } from '../db/keyset';
import { BadUserInputError } from '../errors';
import { isStorableDate } from '../validation/storable-input';

/** The opaque `after` a client sends back: the listing's name and the position in its order. */
export function encodeCursor(order: { name: string }, cursor: Cursor): string {
  return Buffer.from(JSON.stringify([order.name, cursor.sortValue.toISOString(), cursor.id])).toString('base64url');
}

export function decodeCursor(raw: string, order: { name: string }): Cursor {
  const invalid = () => new BadUserInputError('Invalid after: not a cursor returned by this listing', 'after');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [name, sortValue, id] = parsed as unknown[];
  const at = typeof sortValue === 'string' ? new Date(sortValue) : new Date(NaN);
  if (name !== order.name || !isStorableDate(at) || typeof id !== 'string' || !isUuid(id)) throw invalid();
  return { sortValue: at, id };
}
