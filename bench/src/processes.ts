import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { benchDistDir, distDir, repoRoot, requireDist } from './paths';

export interface ChildServer {
  /** Where requests go: the GraphQL endpoint, or the floor's origin. */
  url: string;
  pid: number;
  /** Everything the process wrote, for error messages and the SQL log. */
  output(): string;
  /** Output since the last call. */
  takeOutput(): string;
  stop(): Promise<void>;
}

/** The application's own free-port finder, from dist/. */
export function freePort(): Promise<number> {
  return requireDist<{ findFreePort(): Promise<number> }>('db/embedded-postgres.js').findFreePort();
}

function track(child: ChildProcess): { output(): string; takeOutput(): string } {
  let all = '';
  let taken = 0;
  const append = (chunk: Buffer) => {
    all += chunk.toString();
    // The SQL log of a long calibration can grow; keep the tail only.
    if (all.length > 64 * 1024 * 1024) {
      const cut = all.length - 32 * 1024 * 1024;
      all = all.slice(cut);
      taken = Math.max(0, taken - cut);
    }
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return {
    output: () => all,
    takeOutput: () => {
      const text = all.slice(taken);
      taken = all.length;
      return text;
    },
  };
}

function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitUntil(ready: () => Promise<boolean>, child: ChildProcess, describe: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${describe()} exited before it was ready`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${describe()} was not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface AppServerOptions {
  databaseUrl: string;
  secret: string;
  logLevel: 'silent' | 'trace';
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** The Node binary to run it on; the benchmark's own by default. */
  node?: string;
  /** More environment variables, e.g. DATABASE_REPLICA_URLS. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The application exactly as `npm start` runs it after building: `node
 * dist/main.js`, configured by the environment only. The periodic retention
 * job is pushed out to a day so it never fires during a measurement.
 */
export async function startAppServer(options: AppServerOptions): Promise<ChildServer> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    LOG_LEVEL: options.logLevel,
    // The calibration replays the logged statements under EXPLAIN, so it needs their values.
    LOG_SQL_VALUES: options.logLevel === 'trace' ? 'true' : 'false',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: options.secret,
    PURGE_INTERVAL_SECONDS: '86400',
    ...options.env,
  };
  const child = spawn(options.node ?? process.execPath, [...(options.nodeArgs ?? []), path.join(distDir, 'main.js')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = track(child);
  const url = `http://127.0.0.1:${port}/graphql`;
  const describe = () => `the server (node dist/main.js): ${out.output().slice(-2000)}`;
  try {
    await waitUntil(
      async () => {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
        return response.ok;
      },
      child,
      describe,
      90_000,
    );
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  out.takeOutput();
  return { url, pid: child.pid!, ...out, stop: () => stopChild(child) };
}

/** The floor (bench/dist/floor.js), a separate process like the server. */
export async function startFloor(databaseUrl: string): Promise<ChildServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(benchDistDir, 'floor.js')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = track(child);
  await waitUntil(async () => out.output().includes(`ready ${port}`), child, () => `the floor: ${out.output().slice(-2000)}`, 30_000).catch(
    async (error) => {
      await stopChild(child);
      throw error;
    },
  );
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, ...out, stop: () => stopChild(child) };
}

/** Runs a node script to completion; resolves with its last stdout line parsed as JSON. */
export function runNodeJson<T>(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${path.basename(script)} ${args.join(' ')} exited with ${code}: ${stderr.trim() || stdout.trim()}`));
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${path.basename(script)} printed no JSON result: ${stdout}`));
      }
    });
  });
}

/** Resident set size (VmRSS) and its peak so far (VmHWM) of a process, in MB; undefined where /proc is missing. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is missing. */
export function cpuMsOf(pid: number): number | undefined {
  const stat = statOf(pid);
  return stat && (stat.ticks * 1000) / CLOCK_TICKS;
}

/**
 * CPU time (user + system) the PostgreSQL server of `backendPid` (any of its
 * backends) has used so far, in ms: its postmaster, every process it runs
 * (backends, background workers), and those that already exited. Undefined
 * when that server does not run on this machine (its backend's pid is not a
 * local postgres process).
 */
export function databaseCpuMsOf(backendPid: number): number | undefined {
  const backend = statOf(backendPid);
  if (!backend || !backend.command.startsWith('postgres')) return undefined;
  const postmaster = statOf(backend.parent);
  if (!postmaster || !postmaster.command.startsWith('postgres')) return undefined;
  // cutime/cstime: the CPU of children the postmaster has waited for, i.e. backends that ended.
  let ticks = postmaster.ticks + postmaster.childTicks;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const process = statOf(Number(entry));
    if (process?.parent === backend.parent) ticks += process.ticks;
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** A process's command name, parent, and CPU ticks (its own; its waited-for children's) from /proc; undefined where /proc is missing. */
function statOf(pid: number): { command: string; parent: number; ticks: number; childTicks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): ppid is the 2nd, utime and stime the 12th and 13th, cutime and cstime the 14th and 15th.
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { command, parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), childTicks: Number(fields[13]) + Number(fields[14]) };
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

/** Samples a process's RSS every `intervalMs` until stopped; returns the highest sample. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): number } {
  let max = memoryOf(pid)?.rssMb ?? 0;
  const timer = setInterval(() => {
    const rss = memoryOf(pid)?.rssMb;
    if (rss !== undefined && rss > max) max = rss;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const rss = memoryOf(pid)?.rssMb;
      return Math.max(max, rss ?? 0);
    },
  };
}
