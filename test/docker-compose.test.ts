import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findFreePort } from '../src/db/embedded-postgres';
import { createTestDatabase } from './helpers/database';

// Docker is not needed here: these tests pin the structure of the container files, and start
// the built server with exactly the environment compose gives it.

const repoRoot = path.resolve(__dirname, '..');
const readRepoFile = (name: string): string => readFileSync(path.resolve(__dirname, '..', name), 'utf8');

type Mapping = Record<string, unknown>;

const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function asMapping(value: unknown, what: string): Mapping {
  if (!isMapping(value)) throw new Error(`${what} is not a mapping`);
  return value;
}

const compose = asMapping(parse(readRepoFile('docker-compose.yml')), 'docker-compose.yml');
const services = (): Mapping => asMapping(compose.services, 'services');
const service = (name: string): Mapping => asMapping(services()[name], `service "${name}"`);

/** `environment:` as a map of strings, whether written as a mapping or as a list of KEY=value. */
function environmentOf(name: string): Record<string, string> {
  const environment = service(name).environment;
  if (environment === undefined) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const [key, ...value] = String(entry).split('=');
        return [key, value.join('=')];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(asMapping(environment, `environment of "${name}"`)).map(([key, value]) => [key, value == null ? '' : String(value)]),
  );
}

/**
 * Compose's interpolation of `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` from the
 * caller's environment; a required variable that is unset fails as `docker compose up` would.
 */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, operator?: string, argument?: string) => {
    if (whole === '$$') return '$';
    const set = env[name!];
    const missing = operator?.startsWith(':') ? !set : set === undefined;
    if (missing && operator?.endsWith('?')) throw new Error(`required variable ${name} is missing a value: ${argument}`);
    if (missing && operator?.endsWith('-')) return argument ?? '';
    return set ?? '';
  });
}

/** Container-side ports of a service's `ports:`, in short ("8080:80/tcp") or long ({ target }) syntax. */
function containerPortsOf(name: string): number[] {
  const ports = service(name).ports;
  if (!Array.isArray(ports)) return [];
  return ports.map((port) => {
    if (isMapping(port)) return Number(port.target);
    const containerSide = String(port).split('/')[0].split(':').pop();
    return Number(containerSide);
  });
}

/** Volume mounts of a service as { source, target }, in short ("name:/path:ro") or long syntax. */
function mountsOf(name: string): { source: string; target: string }[] {
  const volumes = service(name).volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.map((volume) => {
    if (isMapping(volume)) return { source: String(volume.source ?? ''), target: String(volume.target ?? '') };
    const [source, target] = String(volume).split(':');
    return target === undefined ? { source: '', target: source } : { source, target };
  });
}

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions grouped by stage (each FROM starts one), comments and line continuations resolved. */
function dockerfileStages(text: string): Instruction[][] {
  const logicalLines: string[] = [];
  let pending = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    if (whole) logicalLines.push(whole);
  }
  if (pending.trim()) logicalLines.push(pending.trim());

  const stages: Instruction[][] = [];
  for (const line of logicalLines) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const instruction = { keyword: match[1].toUpperCase(), args: match[2].trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** The words of a CMD/ENTRYPOINT, in exec form (JSON array) or shell form. */
function commandWords(args: string): string[] {
  if (args.startsWith('[')) return (JSON.parse(args) as unknown[]).map(String);
  return args.split(/\s+/);
}

/** Variables set by ENV lines, in `ENV A=1 B="2"` or legacy `ENV A 1` form. */
function envOf(stage: Instruction[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const { args } of stage.filter((instruction) => instruction.keyword === 'ENV')) {
    const [first] = args.split(/\s+/);
    if (!first.includes('=')) {
      values[first] = args.slice(first.length).trim();
      continue;
    }
    for (const [, key, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) {
      values[key] = value.replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return values;
}

const dockerfileStagesOf = (name: string): Instruction[][] => dockerfileStages(readRepoFile(name));
const finalStage = (): Instruction[] => {
  const stage = dockerfileStagesOf('Dockerfile').at(-1);
  if (!stage) throw new Error('Dockerfile has no FROM');
  return stage;
};

describe('docker-compose.yml', () => {
  it('defines the postgres and server services', () => {
    expect(Object.keys(services())).toEqual(expect.arrayContaining(['postgres', 'server']));
  });

  it('has no obsolete top-level version key', () => {
    expect(compose).not.toHaveProperty('version');
  });

  it('checks postgres health with pg_isready', () => {
    const healthcheck = asMapping(service('postgres').healthcheck, 'postgres healthcheck');
    expect(healthcheck.disable).not.toBe(true);
    const test = Array.isArray(healthcheck.test) ? healthcheck.test.join(' ') : String(healthcheck.test);
    expect(test).toContain('pg_isready');
  });

  it('keeps the postgres data directory on a named volume declared at top level', () => {
    const dataDir = environmentOf('postgres').PGDATA ?? '/var/lib/postgresql/data';
    const mount = mountsOf('postgres').find(({ target }) => target.replace(/\/$/, '') === dataDir);
    expect(mount, `a volume mounted at ${dataDir}`).toBeDefined();
    // A named volume, not a bind mount of a host path.
    expect(mount?.source).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
    expect(Object.keys(asMapping(compose.volumes, 'top-level volumes'))).toContain(mount?.source);
  });

  it('builds the server from the repository root with a Dockerfile that exists', () => {
    const build = service('server').build;
    const { context, dockerfile } = isMapping(build)
      ? { context: String(build.context ?? '.'), dockerfile: String(build.dockerfile ?? 'Dockerfile') }
      : { context: String(build), dockerfile: 'Dockerfile' };
    expect(path.resolve(repoRoot, context)).toBe(repoRoot);
    expect(existsSync(path.resolve(repoRoot, context, dockerfile))).toBe(true);
  });

  it('starts the server only once postgres is healthy', () => {
    const dependsOn = asMapping(service('server').depends_on, 'server depends_on (long form)');
    expect(asMapping(dependsOn.postgres, 'server depends_on postgres')).toMatchObject({ condition: 'service_healthy' });
  });

  it("points the server's DATABASE_URL at the postgres service with its user, password and database", () => {
    const postgresEnvironment = environmentOf('postgres');
    const { DATABASE_URL } = environmentOf('server');
    expect(DATABASE_URL).toBeDefined();
    const url = new URL(DATABASE_URL);
    expect(url.protocol).toMatch(/^postgres(ql)?:$/);
    expect(url.hostname).toBe('postgres');
    expect(url.port || '5432').toBe('5432');
    expect(decodeURIComponent(url.username)).toBe(postgresEnvironment.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(postgresEnvironment.POSTGRES_PASSWORD);
    expect(decodeURIComponent(url.pathname.slice(1))).toBe(postgresEnvironment.POSTGRES_DB);
    expect(postgresEnvironment.POSTGRES_PASSWORD).toBeTruthy();
  });

  it('publishes the port the server is told to listen on', () => {
    const { PORT } = environmentOf('server');
    expect(PORT).toMatch(/^\d+$/);
    expect(containerPortsOf('server')).toContain(Number(PORT));
  });

  it('runs the server in production', () => {
    expect(environmentOf('server').NODE_ENV).toBe('production');
  });

  it('requires JWT_SECRET from the caller, with a message, instead of a default anyone could read', () => {
    const { JWT_SECRET } = environmentOf('server');
    expect(JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.*\S.*\}$/);
    expect(() => interpolate(JWT_SECRET, {})).toThrow(/JWT_SECRET.*openssl rand/);
  });

  it(
    "starts the built server with exactly the server service's environment, and it becomes ready",
    async () => {
      const database = await createTestDatabase();
      const workDir = await mkdtemp(path.join(os.tmpdir(), 'trash-graphql-compose-'));
      const caller = { JWT_SECRET: randomBytes(32).toString('hex') };
      const environment = Object.fromEntries(
        Object.entries({ ...envOf(finalStage()), ...environmentOf('server') }).map(([key, value]) => [key, interpolate(value, caller)]),
      );
      // The one substitution: the database is this run's, not the compose network's "postgres" host. And the
      // port is a free one on this machine; the container's is fixed.
      const port = String(await findFreePort());
      const env = { ...environment, DATABASE_URL: database.url, PORT: port };
      const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'main.js')], { cwd: workDir, env });
      const output: string[] = [];
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        let ready = 0;
        for (const deadline = Date.now() + 60_000; Date.now() < deadline && child.exitCode === null; ) {
          ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status, () => 0);
          if (ready === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        expect(ready, output.join('')).toBe(200);
        // Compose's own health check of the service, run as written.
        const healthcheck = asMapping(service('server').healthcheck, 'server healthcheck').test as string[];
        expect(healthcheck.slice(0, 2)).toEqual(['CMD', 'node']);
        const probe = spawnSync(process.execPath, healthcheck.slice(2), { env, timeout: 20_000 });
        expect(probe.status).toBe(0);
        const answer = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ users(first: 1) { nodes { id } } }' }),
        });
        expect(await answer.json()).toEqual({ data: { users: { nodes: [] } } });
      } finally {
        child.kill('SIGTERM');
        await exited;
        await rm(workDir, { recursive: true, force: true });
        await database.drop();
      }
    },
    120_000,
  );
});

describe('docker-compose.yml replica profile', () => {
  it('defines a replica that starts only with --profile replica, once the primary is healthy', () => {
    const replica = service('postgres-replica');
    expect(replica.profiles).toEqual(['replica']);
    expect(replica.image).toBe(service('postgres').image);
    expect(asMapping(asMapping(replica.depends_on, 'replica depends_on').postgres, 'replica depends_on postgres')).toMatchObject({
      condition: 'service_healthy',
    });
    // The server and the primary belong to no profile: `docker compose up` alone is unchanged.
    expect(service('server').profiles).toBeUndefined();
    expect(service('postgres').profiles).toBeUndefined();
  });

  it('makes the replica with the image’s own pg_basebackup from the postgres service, as a streaming standby, on a volume of its own', () => {
    const command = (service('postgres-replica').command as string[]).join(' ');
    expect(command).toMatch(/pg_basebackup [^\n]*--host=postgres/);
    expect(command).toContain('--write-recovery-conf');
    expect(command).toContain('--wal-method=stream');
    expect(command).toMatch(/exec postgres/);
    const primaryEnvironment = environmentOf('postgres');
    expect(command).toContain(`--username=${primaryEnvironment.POSTGRES_USER}`);
    expect(environmentOf('postgres-replica').PGPASSWORD).toBe(primaryEnvironment.POSTGRES_PASSWORD);
    const [mount] = mountsOf('postgres-replica');
    expect(mount.target).toBe(environmentOf('postgres-replica').PGDATA);
    expect(mount.source).not.toBe(mountsOf('postgres')[0].source);
    expect(Object.keys(asMapping(compose.volumes, 'top-level volumes'))).toContain(mount.source);
  });

  it('lets the primary accept replication connections from the compose network (an init script that exists)', () => {
    const init = mountsOf('postgres').find(({ target }) => target.startsWith('/docker-entrypoint-initdb.d/'));
    expect(init).toBeDefined();
    expect(readRepoFile(init!.source)).toMatch(/host replication all all scram-sha-256/);
  });

  it('passes DATABASE_REPLICA_URLS through to the server, empty by default', () => {
    expect(environmentOf('server').DATABASE_REPLICA_URLS).toBe('${DATABASE_REPLICA_URLS:-}');
    expect(readRepoFile('docker-compose.yml')).toContain('DATABASE_REPLICA_URLS=postgres://trash:trash@postgres-replica:5432/trash docker compose --profile replica up');
  });
});

describe('Dockerfile', () => {
  it('bases every stage on one exact release of a supported Node LTS line (22 or 24)', () => {
    const bases = dockerfileStagesOf('Dockerfile').map((stage) => stage[0].args.split(/\s+/)[0]);
    const versions = bases.map((image) => /^node:(\d+)\.(\d+)\.(\d+)-/.exec(image));
    expect(versions.every(Boolean), bases.join(', ')).toBe(true);
    expect(new Set(versions.map((match) => match![0])).size).toBe(1);
    expect(['22', '24']).toContain(versions[0]![1]);
  });

  it('builds in a separate stage from the one it runs', () => {
    expect(dockerfileStagesOf('Dockerfile').length).toBeGreaterThanOrEqual(2);
  });

  it('starts dist/main.js in its final stage', () => {
    const stage = finalStage();
    const last = (keyword: string) => stage.filter((instruction) => instruction.keyword === keyword).at(-1);
    const entrypoint = last('ENTRYPOINT');
    const cmd = last('CMD');
    const words = [...(entrypoint ? commandWords(entrypoint.args) : []), ...(cmd ? commandWords(cmd.args) : [])];
    expect(words).toContain('dist/main.js');
  });

  it('does not run its final stage as root', () => {
    const user = finalStage()
      .filter((instruction) => instruction.keyword === 'USER')
      .at(-1);
    expect(user, 'a USER instruction in the final stage').toBeDefined();
    const name = user?.args.split(':')[0];
    expect(name).not.toBe('root');
    expect(name).not.toBe('0');
  });

  it('sets NODE_ENV=production in its final stage', () => {
    expect(envOf(finalStage()).NODE_ENV).toBe('production');
  });

  it('installs only production dependencies in its final stage', () => {
    const installs = finalStage().filter(({ keyword, args }) => keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(args));
    expect(installs.length).toBeGreaterThan(0);
    for (const { args } of installs) expect(args).toMatch(/--omit[= ]dev|--production\b/);
  });
});

describe('.dockerignore', () => {
  it('keeps local dependencies, build output, data and git history out of the build context', () => {
    const patterns = readRepoFile('.dockerignore')
      .split(/\r?\n/)
      .map((line) => line.trim().replace(/^\/+|\/+$/g, ''))
      .filter((line) => line && !line.startsWith('#'));
    expect(patterns).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data', '.git']));
  });
});
