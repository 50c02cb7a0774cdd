import path from 'node:path';
import { z } from 'zod';

/** Settings the server runs with. This module is the only reader of `process.env`. */
export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  /** Address the HTTP server listens on; loopback only while the development secret is in use. */
  readonly host: string;
  /** External PostgreSQL; when absent an embedded server is started on `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Streaming replicas that serve reads outside transactions; none by default. */
  readonly replicas: ReplicaSettings;
  readonly dataDir: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Debugging only: the trace log shows SQL statements with their values, which are personal data. */
  readonly logSqlValues: boolean;
  readonly trash: TrashSettings;
  readonly auth: AuthSettings;
  readonly limits: QueryLimits;
  /** Browser origins allowed by CORS; in development Apollo's Sandbox origins are added. */
  readonly corsOrigins: readonly string[];
  /** Introspection in production (always on in development and test). */
  readonly allowIntrospection: boolean;
  /** Serve GET /metrics. */
  readonly metrics: boolean;
  /** Where and to whom /metrics is served, and how fresh its trash gauges are. */
  readonly metricsAccess: MetricsAccess;
  /** How long in-flight requests may take to finish once shutdown begins. */
  readonly shutdownGraceMs: number;
  readonly database: DatabaseResilience;
  readonly subscriptions: SubscriptionLimits;
  /** Serve the example web app (examples/web/dist) at `/`: on by default in development only. */
  readonly serveWebApp: boolean;
}

/** How the server waits for, and gives up on, a database that does not answer. */
export interface DatabaseResilience {
  /** How long start-up keeps retrying an unreachable database before giving up. */
  readonly connectTimeoutS: number;
  /** Client-side deadline of every database call made for a request: holds even when PostgreSQL itself is frozen. */
  readonly requestTimeoutMs: number;
}

/** Bounds on GraphQL subscriptions over WebSocket. */
export interface SubscriptionLimits {
  readonly perConnection: number;
  readonly perProcess: number;
}

/** Bounds that keep one request from costing the server more than a request should. */
export interface QueryLimits {
  readonly depth: number;
  readonly aliases: number;
  readonly directives: number;
  readonly tokens: number;
  /** Cost of an operation: 1 per field, list fields multiplied by their `first`. */
  readonly cost: number;
  /** Added to the cost once per `totalCount` in the operation: each runs a COUNT statement. */
  readonly totalCountCost: number;
  /** Largest answer, in bytes of its text values and field names; past it the request fails. 0 = no limit. */
  readonly responseBytes: number;
  readonly bodyBytes: number;
  /** PostgreSQL statement_timeout of every query the server sends while serving requests. */
  readonly statementTimeoutMs: number;
}

export interface MetricsAccess {
  /** Serve /metrics on this port only, instead of the API's port. */
  readonly port: number | undefined;
  /** When set, /metrics answers only requests with `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /** The trash gauges are counted at most this often; scrapes in between reuse the last counts. */
  readonly trashRefreshSeconds: number;
}

export interface AuthSettings {
  /** HS256 secret; set unless jwksUrl is. */
  readonly secret: string | undefined;
  /** When set, tokens are RS256/ES256 signed by a key from this JWKS instead. */
  readonly jwksUrl: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** True when neither was configured and the fixed development secret is in use. */
  readonly usingDevelopmentSecret: boolean;
  /** When set, tokens issued (`iat`) longer ago than this many seconds are refused, whatever their `exp`. */
  readonly maxAgeS: number | undefined;
}

/** Known to everyone who reads this file: fine for a laptop, refused in production. */
export const DEVELOPMENT_JWT_SECRET = 'trash-graphql-development-secret-not-for-production';

export interface ReplicaSettings {
  /** `postgres://` URLs of streaming replicas of the primary; empty: every query goes to the primary. */
  readonly urls: readonly string[];
  /** A replica whose replay lags more than this is skipped until it catches up. */
  readonly maxLagMs: number;
  /** How long a read carrying a consistency token waits for a replica to replay past it before reading from the primary. */
  readonly waitMs: number;
  /** How often each replica's reachability and lag are measured. */
  readonly checkIntervalMs: number;
}

export interface TrashSettings {
  /** Days a record stays in the trash before the retention job purges it; 0 disables automatic purge. */
  readonly retentionDays: number;
  /** How often the server runs the retention job. */
  readonly purgeIntervalSeconds: number;
  /** Rows removed per transaction by the retention job, to keep locks and WAL bursts short. */
  readonly purgeBatchSize: number;
  /** Most trashed records (with their children) one emptyTrash call purges, so no request holds the database for long. */
  readonly emptyTrashMaxRecords: number;
  /** Time after which an emptyTrash call starts no new batch. */
  readonly emptyTrashMaxMs: number;
}

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().regex(/^[A-Za-z0-9.:-]+$/, 'must be an IP address or host name').optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_REPLICA_URLS: z
    .string()
    .transform((value) => value.split(',').map((url) => url.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a comma-separated list of postgres:// URLs')))
    .default([]),
  REPLICA_MAX_LAG_MS: z.coerce.number().int().min(0).max(3_600_000).default(2000),
  REPLICA_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  REPLICA_CHECK_INTERVAL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
  DATA_DIR: z.string().min(1).default('./.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_SQL_VALUES: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  TRASH_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  PURGE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  PURGE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1000),
  EMPTY_TRASH_MAX_RECORDS: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  EMPTY_TRASH_MAX_MS: z.coerce.number().int().min(1).max(600_000).default(2000),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_MAX_AGE: z
    .string()
    .regex(/^\d+[smhd]?$/, 'must be a whole number of seconds, or a number followed by s, m, h or d')
    .transform(durationSeconds)
    .pipe(z.number().int().min(1, 'must be at least 1 second'))
    .optional(),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).default(8),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  QUERY_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(50),
  QUERY_MAX_TOKENS: z.coerce.number().int().min(1).default(1000),
  QUERY_MAX_COST: z.coerce.number().int().min(1).default(10_000),
  QUERY_TOTAL_COUNT_COST: z.coerce.number().int().min(0).default(100),
  RESPONSE_MAX_BYTES: z.coerce.number().int().min(0).default(4 * 1024 * 1024),
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(102_400),
  STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(5000),
  CORS_ORIGINS: z
    .string()
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url({ error: 'must be a comma-separated list of origins such as https://app.example.com' })))
    .default([]),
  ALLOW_INTROSPECTION: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  METRICS: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_TRASH_REFRESH_SECONDS: z.coerce.number().int().min(0).max(86_400).default(30),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  DB_CONNECT_TIMEOUT_S: z.coerce.number().int().min(0).max(3600).default(60),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(1000).default(10),
  SUBSCRIPTIONS_PER_PROCESS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  SERVE_WEB_APP: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
});

/** What each variable accepts, for the one-line message that stops a start-up. */
const acceptedForms: Record<string, string> = {
  NODE_ENV: 'development, production or test',
  PORT: 'an integer from 0 to 65535',
  HOST: 'an address such as 0.0.0.0, 127.0.0.1 or ::',
  DATABASE_URL: 'postgres://user:password@host:5432/database',
  DATABASE_REPLICA_URLS: 'comma-separated postgres://user:password@host:5432/database URLs',
  REPLICA_MAX_LAG_MS: 'a whole number of milliseconds up to 3600000',
  REPLICA_WAIT_MS: 'a whole number of milliseconds up to 60000',
  REPLICA_CHECK_INTERVAL_MS: 'a whole number of milliseconds from 50 to 600000',
  DATA_DIR: 'a directory path',
  LOG_LEVEL: 'fatal, error, warn, info, debug, trace or silent',
  LOG_SQL_VALUES: 'true or false',
  TRASH_RETENTION_DAYS: 'a whole number of days from 0 (no automatic purge) to 36500',
  PURGE_INTERVAL_SECONDS: 'a whole number of seconds from 1 to 86400',
  PURGE_BATCH_SIZE: 'a whole number from 1 to 100000',
  EMPTY_TRASH_MAX_RECORDS: 'a whole number from 1 to 1000000',
  EMPTY_TRASH_MAX_MS: 'a whole number of milliseconds from 1 to 600000',
  JWT_SECRET: 'a secret of at least 32 characters',
  JWT_JWKS_URL: 'an http(s) URL of a JSON Web Key Set',
  JWT_ISSUER: 'the expected iss claim',
  JWT_AUDIENCE: 'the expected aud claim',
  JWT_MAX_AGE: 'a duration such as 3600, 30m, 12h or 7d',
  QUERY_MAX_DEPTH: 'a whole number of at least 1',
  QUERY_MAX_ALIASES: 'a whole number',
  QUERY_MAX_DIRECTIVES: 'a whole number',
  QUERY_MAX_TOKENS: 'a whole number of at least 1',
  QUERY_MAX_COST: 'a whole number of at least 1',
  QUERY_TOTAL_COUNT_COST: 'a whole number',
  RESPONSE_MAX_BYTES: 'a whole number of bytes (0 = no limit)',
  BODY_LIMIT_BYTES: 'a whole number of bytes, at least 1024',
  STATEMENT_TIMEOUT_MS: 'a whole number of milliseconds (0 = no limit)',
  CORS_ORIGINS: 'comma-separated origins such as https://app.example.com',
  ALLOW_INTROSPECTION: 'true or false',
  METRICS: 'true or false',
  METRICS_PORT: 'an integer from 0 to 65535',
  METRICS_TOKEN: 'a bearer token of at least 16 characters',
  METRICS_TRASH_REFRESH_SECONDS: 'a whole number of seconds up to 86400 (0 = count at every scrape)',
  SHUTDOWN_GRACE_MS: 'a whole number of milliseconds up to 600000',
  DB_CONNECT_TIMEOUT_S: 'a whole number of seconds up to 3600 (0 = try once)',
  REQUEST_TIMEOUT_MS: 'a whole number of milliseconds from 1000 to 600000',
  SUBSCRIPTIONS_PER_CONNECTION: 'a whole number from 1 to 1000',
  SUBSCRIPTIONS_PER_PROCESS: 'a whole number from 1 to 1000000',
  SERVE_WEB_APP: 'true or false',
};

const secondsPerUnit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

function durationSeconds(value: string): number {
  const [, amount, unit] = /^(\d+)([smhd]?)$/.exec(value)!;
  return Number(amount) * secondsPerUnit[unit];
}

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
    throw new ConfigError(`Invalid ${variable}=${JSON.stringify(env[variable])}: ${issue.message} (expected ${acceptedForms[variable]})`);
  }
  const values = parsed.data;
  const hasKey = values.JWT_SECRET !== undefined || values.JWT_JWKS_URL !== undefined;
  if (values.NODE_ENV === 'production' && !hasKey) {
    throw new ConfigError('Missing JWT_SECRET: production needs JWT_SECRET (at least 32 characters) or JWT_JWKS_URL to verify tokens');
  }
  return Object.freeze({
    nodeEnv: values.NODE_ENV,
    port: values.PORT,
    // Anyone can mint an admin token with the published development secret: keep the server off the network.
    host: hasKey ? (values.HOST ?? '0.0.0.0') : '127.0.0.1',
    databaseUrl: values.DATABASE_URL,
    replicas: Object.freeze({
      urls: Object.freeze(values.DATABASE_REPLICA_URLS),
      maxLagMs: values.REPLICA_MAX_LAG_MS,
      waitMs: values.REPLICA_WAIT_MS,
      checkIntervalMs: values.REPLICA_CHECK_INTERVAL_MS,
    }),
    dataDir: path.resolve(values.DATA_DIR),
    logLevel: values.LOG_LEVEL,
    logSqlValues: values.LOG_SQL_VALUES === 'true',
    trash: Object.freeze({
      retentionDays: values.TRASH_RETENTION_DAYS,
      purgeIntervalSeconds: values.PURGE_INTERVAL_SECONDS,
      purgeBatchSize: values.PURGE_BATCH_SIZE,
      emptyTrashMaxRecords: values.EMPTY_TRASH_MAX_RECORDS,
      emptyTrashMaxMs: values.EMPTY_TRASH_MAX_MS,
    }),
    auth: Object.freeze({
      secret: hasKey ? values.JWT_SECRET : DEVELOPMENT_JWT_SECRET,
      jwksUrl: values.JWT_JWKS_URL,
      issuer: values.JWT_ISSUER,
      audience: values.JWT_AUDIENCE,
      usingDevelopmentSecret: !hasKey,
      maxAgeS: values.JWT_MAX_AGE,
    }),
    limits: Object.freeze({
      depth: values.QUERY_MAX_DEPTH,
      aliases: values.QUERY_MAX_ALIASES,
      directives: values.QUERY_MAX_DIRECTIVES,
      tokens: values.QUERY_MAX_TOKENS,
      cost: values.QUERY_MAX_COST,
      totalCountCost: values.QUERY_TOTAL_COUNT_COST,
      responseBytes: values.RESPONSE_MAX_BYTES,
      bodyBytes: values.BODY_LIMIT_BYTES,
      statementTimeoutMs: values.STATEMENT_TIMEOUT_MS,
    }),
    corsOrigins: Object.freeze(values.CORS_ORIGINS),
    allowIntrospection: values.ALLOW_INTROSPECTION === 'true',
    metrics: values.METRICS === 'true',
    metricsAccess: Object.freeze({
      port: values.METRICS_PORT,
      token: values.METRICS_TOKEN,
      trashRefreshSeconds: values.METRICS_TRASH_REFRESH_SECONDS,
    }),
    shutdownGraceMs: values.SHUTDOWN_GRACE_MS,
    database: Object.freeze({
      connectTimeoutS: values.DB_CONNECT_TIMEOUT_S,
      requestTimeoutMs: values.REQUEST_TIMEOUT_MS,
    }),
    subscriptions: Object.freeze({
      perConnection: values.SUBSCRIPTIONS_PER_CONNECTION,
      perProcess: values.SUBSCRIPTIONS_PER_PROCESS,
    }),
    serveWebApp: values.SERVE_WEB_APP === undefined ? values.NODE_ENV === 'development' : values.SERVE_WEB_APP === 'true',
  });
}
