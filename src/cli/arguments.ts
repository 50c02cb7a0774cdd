import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config';

type Flags = NonNullable<ParseArgsConfig['options']>;

/**
 * A command's flags, through node:util's `parseArgs` (strict: no positionals,
 * no unknown flags). Its errors become one ConfigError line ending with the
 * command's usage.
 */
export function parseFlags<const F extends Flags>(argv: readonly string[], flags: F, usage: string) {
  try {
    return parseArgs({ args: [...argv], options: flags, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new ConfigError(`Unknown argument ${/'([^']*)'/.exec(message)?.[1] ?? message}; ${usage}`);
    }
    throw new ConfigError(`${message}; ${usage}`);
  }
}
