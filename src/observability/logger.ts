import pino, { type Logger } from 'pino';
import type { Config } from '../config';

/**
 * JSON logs, pretty-printed in development on a terminal. Nothing logged
 * carries tokens or email addresses: requests are logged by id, operation and
 * outcome only, and these paths are redacted should anything ever include them.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'nodeEnv'>): Logger {
  const pretty = config.nodeEnv === 'development' && process.stdout.isTTY;
  return pino({
    level: config.logLevel,
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'email', '*.email', 'token', '*.token'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}
