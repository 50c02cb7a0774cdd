import pino, { stdSerializers, type Logger } from 'pino';
import type { Config } from '../config';
import { isDatabaseError, summariseDatabaseError } from '../db/database-errors';

/**
 * JSON logs, pretty-printed in development on a terminal. Nothing logged
 * carries tokens, email addresses or SQL parameter values: requests are
 * logged by id, operation and outcome only, database errors by code,
 * constraint, table and statement fingerprint (see `serializeError`), and
 * these paths are redacted should anything ever include them.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>): Logger {
  const pretty = config.nodeEnv === 'development' && process.stdout.isTTY;
  return pino({
    level: config.logLevel,
    serializers: { err: serializeError },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'email', '*.email', 'token', '*.token'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}

/** The same error serializer on a logger made elsewhere (tests pass their own). */
export function withSafeErrorLogging(logger: Logger): Logger {
  return logger.child({}, { serializers: { err: serializeError } });
}

/**
 * A database error, or an error caused by one, is logged as its summary only:
 * its message, detail and stack header carry the statement's values.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (isDatabaseError(current)) {
      const summary = summariseDatabaseError(current);
      return current === error ? summary : { type: error.name, cause: summary };
    }
  }
  return stdSerializers.err(error);
}
