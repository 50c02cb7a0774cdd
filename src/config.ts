import path from 'node:path';
import { z } from 'zod';

/** Settings the server runs with. This module is the only reader of `process.env`. */
export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  /** External PostgreSQL; when absent an embedded server is started on `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly trash: TrashSettings;
}

export interface TrashSettings {
  /** Days a record stays in the trash before the retention job purges it; 0 disables automatic purge. */
  readonly retentionDays: number;
  /** How often the server runs the retention job. */
  readonly purgeIntervalSeconds: number;
  /** Rows removed per transaction by the retention job, to keep locks and WAL bursts short. */
  readonly purgeBatchSize: number;
}

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRASH_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  PURGE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
});

/** Thrown when the environment holds a value the server cannot start with. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates the environment. Empty strings count as unset, so
 * `PORT= npm start` falls back to the default rather than failing.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0]);
    throw new ConfigError(`Invalid ${variable}=${JSON.stringify(env[variable])}: ${issue.message}`);
  }
  const values = parsed.data;
  return Object.freeze({
    nodeEnv: values.NODE_ENV,
    port: values.PORT,
    databaseUrl: values.DATABASE_URL,
    dataDir: path.resolve(values.DATA_DIR),
    logLevel: values.LOG_LEVEL,
    trash: Object.freeze({
      retentionDays: values.TRASH_RETENTION_DAYS,
      purgeIntervalSeconds: values.PURGE_INTERVAL_SECONDS,
      purgeBatchSize: values.PURGE_BATCH_SIZE,
    }),
  });
}
