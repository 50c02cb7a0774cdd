import { BadUserInputError } from '../errors';

/**
 * The instants PostgreSQL's timestamptz stores and ISO 8601 writes with four
 * digits: year 1 to 9999. JavaScript dates reach further (±275760), and
 * PostgreSQL would fail such a statement as an internal error.
 */
const EARLIEST_DATE_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_DATE_MS = Date.parse('9999-12-31T23:59:59.999Z');

export function isStorableDate(date: Date): boolean {
  const time = date.getTime();
  return time >= EARLIEST_DATE_MS && time <= LATEST_DATE_MS;
}

/** Argument objects already checked: graphql-jit may hand a nested field the same one for every parent row. */
const checked = new WeakSet<object>();

/**
 * Refuses, for every argument of a field, values PostgreSQL cannot take:
 * text with a NUL character (its protocol cannot carry one) and dates outside
 * year 1 to 9999. Called by the argument validation (`validate-arguments.ts`),
 * which type-graphql runs for every argument of every resolver, so no
 * argument can be forgotten; each arguments object is checked once, before
 * class-validator and before any resolver.
 */
export function rejectUnstorableArguments(args: Record<string, unknown>): void {
  if (checked.has(args)) return;
  for (const name in args) checkStorable(args[name], name, name);
  checked.add(args);
}

function checkStorable(value: unknown, path: string, field: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw new BadUserInputError(`Invalid ${path}: must not contain NUL characters (\\u0000)`, field);
  } else if (value instanceof Date) {
    if (!isStorableDate(value)) throw new BadUserInputError(`Invalid ${path}: must be a date from year 1 to 9999`, field);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkStorable(item, `${path}[${index}]`, field));
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) checkStorable((value as Record<string, unknown>)[key], `${path}.${key}`, key);
  }
}
