import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig } from '../src/config';

describe('configuration', () => {
  it('defaults: port 4000, embedded database in ./.data, development, info logs', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      nodeEnv: 'development',
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      replicas: { urls: [], maxLagMs: 2000, waitMs: 200, checkIntervalMs: 1000 },
      dataDir: path.resolve('.data'),
      logLevel: 'info',
      logSqlValues: false,
      trash: { retentionDays: 30, purgeIntervalSeconds: 3600, purgeBatchSize: 1000, emptyTrashMaxRecords: 2000, emptyTrashMaxMs: 2000 },
      auth: { secret: DEVELOPMENT_JWT_SECRET, jwksUrl: undefined, issuer: undefined, audience: undefined, usingDevelopmentSecret: true, maxAgeS: undefined },
      limits: {
        depth: 8,
        aliases: 15,
        directives: 50,
        tokens: 1000,
        cost: 10_000,
        totalCountCost: 100,
        responseBytes: 4_194_304,
        bodyBytes: 102_400,
        statementTimeoutMs: 5000,
      },
      corsOrigins: [],
      allowIntrospection: false,
      metrics: true,
      metricsAccess: { port: undefined, token: undefined, trashRefreshSeconds: 30 },
      shutdownGraceMs: 10_000,
      database: { connectTimeoutS: 60, requestTimeoutMs: 10_000 },
      subscriptions: { perConnection: 10, perProcess: 1000 },
      serveWebApp: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      HOST: '::',
      DATABASE_URL: 'postgres://app:secret@db:5432/app',
      DATABASE_REPLICA_URLS: 'postgres://app:secret@replica-a:5432/app, postgresql://app:secret@replica-b/app',
      REPLICA_MAX_LAG_MS: '500',
      REPLICA_WAIT_MS: '0',
      REPLICA_CHECK_INTERVAL_MS: '250',
      DATA_DIR: '/var/lib/trash',
      LOG_LEVEL: 'warn',
      LOG_SQL_VALUES: 'true',
      TRASH_RETENTION_DAYS: '0',
      PURGE_INTERVAL_SECONDS: '60',
      PURGE_BATCH_SIZE: '250',
      EMPTY_TRASH_MAX_RECORDS: '500',
      EMPTY_TRASH_MAX_MS: '750',
      JWT_SECRET: 's'.repeat(32),
      JWT_ISSUER: 'https://issuer.example',
      JWT_AUDIENCE: 'trash-api',
      JWT_MAX_AGE: '12h',
      QUERY_MAX_DEPTH: '6',
      QUERY_MAX_ALIASES: '5',
      QUERY_MAX_DIRECTIVES: '10',
      QUERY_MAX_TOKENS: '500',
      QUERY_MAX_COST: '2000',
      QUERY_TOTAL_COUNT_COST: '40',
      RESPONSE_MAX_BYTES: '1000000',
      BODY_LIMIT_BYTES: '65536',
      STATEMENT_TIMEOUT_MS: '0',
      CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
      ALLOW_INTROSPECTION: 'true',
      METRICS: 'false',
      METRICS_PORT: '9464',
      METRICS_TOKEN: 'm'.repeat(16),
      METRICS_TRASH_REFRESH_SECONDS: '5',
      SHUTDOWN_GRACE_MS: '2500',
      DB_CONNECT_TIMEOUT_S: '5',
      REQUEST_TIMEOUT_MS: '3000',
      SUBSCRIPTIONS_PER_CONNECTION: '3',
      SUBSCRIPTIONS_PER_PROCESS: '50',
      SERVE_WEB_APP: 'true',
    });
    expect(config).toEqual({
      nodeEnv: 'production',
      port: 8080,
      host: '::',
      databaseUrl: 'postgres://app:secret@db:5432/app',
      replicas: {
        urls: ['postgres://app:secret@replica-a:5432/app', 'postgresql://app:secret@replica-b/app'],
        maxLagMs: 500,
        waitMs: 0,
        checkIntervalMs: 250,
      },
      dataDir: '/var/lib/trash',
      logLevel: 'warn',
      logSqlValues: true,
      trash: { retentionDays: 0, purgeIntervalSeconds: 60, purgeBatchSize: 250, emptyTrashMaxRecords: 500, emptyTrashMaxMs: 750 },
      auth: { secret: 's'.repeat(32), jwksUrl: undefined, issuer: 'https://issuer.example', audience: 'trash-api', usingDevelopmentSecret: false, maxAgeS: 43_200 },
      limits: {
        depth: 6,
        aliases: 5,
        directives: 10,
        tokens: 500,
        cost: 2000,
        totalCountCost: 40,
        responseBytes: 1_000_000,
        bodyBytes: 65_536,
        statementTimeoutMs: 0,
      },
      corsOrigins: ['https://app.example.com', 'https://admin.example.com'],
      allowIntrospection: true,
      metrics: false,
      metricsAccess: { port: 9464, token: 'm'.repeat(16), trashRefreshSeconds: 5 },
      shutdownGraceMs: 2500,
      database: { connectTimeoutS: 5, requestTimeoutMs: 3000 },
      subscriptions: { perConnection: 3, perProcess: 50 },
      serveWebApp: true,
    });
  });

  it('serves the web app by default in development only; elsewhere only when SERVE_WEB_APP=true', () => {
    expect(loadConfig({}).serveWebApp).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).serveWebApp).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).serveWebApp).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), SERVE_WEB_APP: 'true' }).serveWebApp).toBe(true);
    expect(loadConfig({ SERVE_WEB_APP: 'false' }).serveWebApp).toBe(false);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' })).toMatchObject({ port: 4000, databaseUrl: undefined });
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['DATABASE_REPLICA_URLS', 'postgres://replica-a/app,replica-b'],
    ['REPLICA_MAX_LAG_MS', '-1'],
    ['REPLICA_WAIT_MS', 'briefly'],
    ['REPLICA_CHECK_INTERVAL_MS', '10'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['TRASH_RETENTION_DAYS', '-1'],
    ['TRASH_RETENTION_DAYS', '1.5'],
    ['PURGE_INTERVAL_SECONDS', '0'],
    ['PURGE_BATCH_SIZE', 'lots'],
    ['QUERY_TOTAL_COUNT_COST', '-1'],
    ['RESPONSE_MAX_BYTES', 'big'],
    ['METRICS_PORT', '99999'],
    ['METRICS_TOKEN', 'short'],
    ['JWT_SECRET', 'too-short'],
    ['JWT_JWKS_URL', 'not a url'],
    ['QUERY_MAX_DEPTH', '0'],
    ['CORS_ORIGINS', 'not-an-origin'],
    ['ALLOW_INTROSPECTION', 'yes'],
    ['METRICS', 'off'],
    ['SHUTDOWN_GRACE_MS', '-5'],
    ['HOST', 'every interface'],
    ['LOG_SQL_VALUES', 'yes'],
    ['JWT_MAX_AGE', 'a day'],
    ['JWT_MAX_AGE', '0'],
    ['DB_CONNECT_TIMEOUT_S', '-1'],
    ['REQUEST_TIMEOUT_MS', '50'],
    ['SUBSCRIPTIONS_PER_CONNECTION', '0'],
    ['SUBSCRIPTIONS_PER_PROCESS', 'many'],
    ['SERVE_WEB_APP', 'yes'],
  ])('refuses %s=%s with one line naming the variable, the problem and the accepted form', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid ${variable}=${JSON.stringify(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .+ \\(expected .+\\)$`));
  });

  it('listens on HOST (every interface by default) only when a real secret is configured', () => {
    expect(loadConfig({ JWT_SECRET: 's'.repeat(32) }).host).toBe('0.0.0.0');
    expect(loadConfig({ JWT_SECRET: 's'.repeat(32), HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    expect(loadConfig({ JWT_JWKS_URL: 'https://keys.example/jwks.json', HOST: '::' }).host).toBe('::');
    // With the public development secret anyone could mint an admin token: loopback whatever HOST says.
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('127.0.0.1');
  });

  it('reads JWT_MAX_AGE as seconds or with a unit', () => {
    expect(loadConfig({ JWT_MAX_AGE: '900' }).auth.maxAgeS).toBe(900);
    expect(loadConfig({ JWT_MAX_AGE: '30m' }).auth.maxAgeS).toBe(1800);
    expect(loadConfig({ JWT_MAX_AGE: '7d' }).auth.maxAgeS).toBe(604_800);
  });

  it('refuses to start in production without JWT_SECRET or JWT_JWKS_URL', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/^Missing JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_JWKS_URL: 'https://keys.example/jwks.json' }).auth).toMatchObject({
      jwksUrl: 'https://keys.example/jwks.json',
      usingDevelopmentSecret: false,
    });
  });
});
