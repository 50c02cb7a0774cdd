import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { findFreePort, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';

/**
 * A throwaway primary and a streaming replica of it, in temporary directories
 * on free ports, for the tests and the benchmark (the server never uses this).
 * The binaries are the embedded ones, or those in `binDir` (e.g. the system
 * PostgreSQL's `pg_config --bindir`). With `pg_basebackup` in that directory
 * the replica is made with it; otherwise (the embedded binaries have none) by
 * a file-level base backup.
 */
export interface ReplicatedCluster {
  /** Superuser URL of the primary's `postgres` database. */
  readonly primaryUrl: string;
  /** The same database on the replica. */
  readonly replicaUrl: string;
  /** How the replica was made: `pg_basebackup` or `file copy`. */
  readonly baseBackup: string;
  /** Every line the replica's server logged (it logs every statement it runs). */
  readonly replicaLog: string[];
  /** Waits until the replica has replayed everything the primary has written so far. */
  waitForReplay(): Promise<void>;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  stop(): Promise<void>;
}

const quiet = pino({ level: 'warn' });
const postgresOsUser = 'postgres';

export async function startReplicatedCluster(options: { binDir?: string } = {}): Promise<ReplicatedCluster> {
  const { binDir } = options;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'trash-graphql-replication-'));
  const primaryDir = path.join(root, 'primary');
  const replicaDir = path.join(root, 'replica');
  // The postgres OS user (when run as root) must reach both clusters.
  await fs.chmod(root, 0o755);
  // Commits are synchronous so that a commit's WAL reaches the replica at once; fsync stays off for speed.
  const primary = await startEmbeddedPostgres({
    dataDir: primaryDir,
    durable: false,
    logger: quiet,
    binDir,
    settings: ['synchronous_commit=on', 'wal_level=replica', 'max_wal_senders=5', 'wal_keep_size=128MB'],
  });
  const stopAll: Array<() => Promise<void>> = [() => primary.stop()];
  try {
    const password = (await fs.readFile(path.join(primaryDir, 'superuser-password'), 'utf8')).trim();
    const primaryPort = Number(new URL(primary.url).port);
    await fs.mkdir(replicaDir, { recursive: true, mode: 0o700 });
    await fs.copyFile(path.join(primaryDir, 'superuser-password'), path.join(replicaDir, 'superuser-password'));
    const conninfo = `host=127.0.0.1 port=${primaryPort} user=postgres password=${password} application_name=test_replica`;
    const pgBaseBackup = binDir ? path.join(binDir, 'pg_basebackup') : undefined;
    const baseBackup = pgBaseBackup && existsSync(pgBaseBackup) ? 'pg_basebackup' : 'file copy';
    if (baseBackup === 'pg_basebackup') {
      execFileSync(pgBaseBackup!, ['-d', conninfo, '-D', path.join(replicaDir, 'pgdata'), '-R', '-X', 'stream', '-c', 'fast'], {
        stdio: 'pipe',
        env: { ...process.env, PGPASSWORD: password },
      });
    } else {
      await copyBaseBackup(primary.url, primaryDir, replicaDir, conninfo);
    }
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', `${postgresOsUser}:${postgresOsUser}`, replicaDir]);
    await fs.chmod(path.join(replicaDir, 'pgdata'), 0o700);

    const replicaLog: string[] = [];
    const replicaLogger = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const { postgres } = JSON.parse(line) as { postgres?: string };
          if (postgres) replicaLog.push(postgres);
        },
      },
    );
    const replicaPort = await findFreePort();
    const startReplicaServer = () =>
      startEmbeddedPostgres({
        dataDir: replicaDir,
        durable: false,
        logger: replicaLogger,
        binDir,
        port: replicaPort,
        settings: ['hot_standby=on', 'hot_standby_feedback=on', 'log_statement=all'],
      });
    let replica: EmbeddedPostgres | undefined = await startReplicaServer();
    stopAll.unshift(() => replica?.stop() ?? Promise.resolve());
    const replicaUrl = replica.url;

    const onReplica = <R>(work: (client: pg.Client) => Promise<R>) => withClient(replicaUrl, work);
    const cluster: ReplicatedCluster = {
      primaryUrl: primary.url,
      replicaUrl,
      baseBackup,
      replicaLog,
      async waitForReplay() {
        // After synchronous commits the write position is exactly where the last record ends.
        const target = await withClient(primary.url, async (client) => (await client.query('select pg_current_wal_lsn()::text as lsn')).rows[0].lsn);
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const caughtUp = await onReplica(
            async (client) => (await client.query('select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok', [target])).rows[0].ok as boolean,
          );
          if (caughtUp) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        throw new Error(`the replica did not replay up to ${target} within 15 s`);
      },
      pauseReplay: () => onReplica((client) => client.query('select pg_wal_replay_pause()')).then(() => undefined),
      resumeReplay: () => onReplica((client) => client.query('select pg_wal_replay_resume()')).then(() => undefined),
      async stopReplica() {
        await replica?.stop();
        replica = undefined;
      },
      async startReplica() {
        replica ??= await startReplicaServer();
      },
      async stop() {
        for (const stop of stopAll) await stop();
        await fs.rm(root, { recursive: true, force: true });
      },
    };
    await cluster.waitForReplay();
    return cluster;
  } catch (error) {
    for (const stop of stopAll) await stop().catch(() => undefined);
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A base backup without pg_basebackup: pg_backup_start, a copy of the data
 * directory (without the WAL and the running server's pid file), pg_backup_stop
 * in the same session, whose label file becomes backup_label; then
 * standby.signal and primary_conninfo make the copy a streaming replica.
 */
async function copyBaseBackup(primaryUrl: string, primaryDir: string, replicaDir: string, conninfo: string): Promise<void> {
  const source = await fs.realpath(path.join(primaryDir, 'pgdata'));
  const target = path.join(replicaDir, 'pgdata');
  await withClient(primaryUrl, async (client) => {
    await client.query(`select pg_backup_start('test replica', true)`);
    await copyDataDirectory(source, target);
    const { rows } = await client.query('select labelfile, spcmapfile from pg_backup_stop(false)');
    await fs.writeFile(path.join(target, 'backup_label'), rows[0].labelfile);
    if (rows[0].spcmapfile) await fs.writeFile(path.join(target, 'tablespace_map'), rows[0].spcmapfile);
  });
  await fs.writeFile(path.join(target, 'standby.signal'), '');
  await fs.appendFile(path.join(target, 'postgresql.auto.conf'), `\nprimary_conninfo = '${conninfo}'\n`);
}

/** Files may come and go while the primary runs: one that vanished mid-copy is simply not needed. */
async function copyDataDirectory(from: string, to: string, relative = ''): Promise<void> {
  await fs.mkdir(path.join(to, relative), { recursive: true, mode: 0o700 });
  for (const entry of await fs.readdir(path.join(from, relative), { withFileTypes: true })) {
    const name = path.join(relative, entry.name);
    if (['postmaster.pid', 'postmaster.opts'].includes(name)) continue;
    if (entry.isDirectory()) await copyDataDirectory(from, to, name);
    else if (!name.startsWith(`pg_wal${path.sep}`)) {
      await fs.copyFile(path.join(from, name), path.join(to, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  }
}

async function withClient<R>(url: string, work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
