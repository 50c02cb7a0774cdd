import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/**
 * A logger at trace level, which makes the server log every SQL statement it
 * sends (see src/orm.ts), and a count of those statements.
 */
export function createStatementCounter(): { logger: Logger; reset(): void; statements(): string[] } {
  let seen: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const entry = JSON.parse(line) as { orm?: string };
        const match = entry.orm ? /\[query\] (.*)$/s.exec(entry.orm.replace(/\u001b\[[0-9;]*m/g, '')) : null;
        if (match) seen.push(match[1]);
      }
      done();
    },
  });
  return {
    logger: pino({ level: 'trace' }, sink),
    reset: () => {
      seen = [];
    },
    statements: () => [...seen],
  };
}
