import { validateOrReject, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, type ValidatorFn } from 'type-graphql';
import { rejectUnstorableArguments } from './storable-input';

/** What type-graphql passes class-validator by default, with unknown values allowed (arguments are type-graphql classes). */
const VALIDATOR_OPTIONS: ValidatorOptions = { skipMissingProperties: true, forbidUnknownValues: false };

/** Valid argument values remembered per argument class; past this many the set starts again. */
const REMEMBERED_PER_CLASS = 256;
/** Only small argument objects (page sizes, flags, ids) are remembered; large inputs are validated each time. */
const MAX_REMEMBERED_KEY_LENGTH = 512;

const knownValid = new WeakMap<object, Set<string>>();

/**
 * Every argument's check: first what PostgreSQL cannot store (see
 * storable-input.ts), then class-validator. It is type-graphql's `validateFn`,
 * which runs for every argument of every resolver: doing the storable check
 * here rather than in a global middleware spares every resolver call
 * type-graphql's middleware chain (two async steps and their closures),
 * a tenth of what a nested page allocated.
 *
 * Argument validation with class-validator, as type-graphql does it, but
 * remembering the argument values already found valid. A nested connection
 * (`posts(first: 5)` under 20 users) receives the same arguments once per
 * parent row, and validating them was a fifth of what such a request
 * allocated. This relies on every validator used on arguments being a pure
 * function of the value (class-validator's built-ins and `CharLength` are).
 * It also imports class-validator once: type-graphql's default `require`s it
 * on every validation, which resolves the module path each time.
 */
export const validateArguments: ValidatorFn = async (value, _type, { args }) => {
  rejectUnstorableArguments(args);
  if (Array.isArray(value)) {
    await Promise.all(value.filter(isObject).map(validateObject));
  } else if (isObject(value)) {
    await validateObject(value);
  }
};

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

async function validateObject(value: object): Promise<void> {
  const key = JSON.stringify(value);
  let remembered = knownValid.get(value.constructor);
  if (remembered?.has(key)) return;
  try {
    await validateOrReject(value, VALIDATOR_OPTIONS);
  } catch (errors) {
    throw new ArgumentValidationError(errors as ConstructorParameters<typeof ArgumentValidationError>[0]);
  }
  if (key.length > MAX_REMEMBERED_KEY_LENGTH) return;
  if (!remembered) knownValid.set(value.constructor, (remembered = new Set()));
  if (remembered.size >= REMEMBERED_PER_CLASS) remembered.clear();
  remembered.add(key);
}
