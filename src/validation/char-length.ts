import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';

/**
 * Length in Unicode code points, as PostgreSQL counts varchar lengths.
 * class-validator's Length does not count variation selectors, so a value it
 * accepts could still overflow the column and fail as an internal error.
 */
export function CharLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'charLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && [...value].length >= min && [...value].length <= max,
        defaultMessage: buildMessage(
          (each) => `${each}$property must be ${min > 0 ? `${min} to ${max}` : `at most ${max}`} characters long`,
          options,
        ),
      },
    },
    options,
  );
}
