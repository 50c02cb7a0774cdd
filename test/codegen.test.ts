import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuthorization } from './helpers/auth';
import { startTestServer, type TestServer } from './helpers/test-server';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const requireFromRoot = createRequire(path.join(root, 'package.json'));
const codegenBin = path.join(path.dirname(requireFromRoot.resolve('@graphql-codegen/cli/package.json')), 'cjs', 'bin.js');
const tscBin = requireFromRoot.resolve('typescript/bin/tsc');
const generatedDir = path.join(root, 'examples', 'client', 'gql');
// Compiled output goes under node_modules so that the client's imports resolve as they do from the repository.
const buildDir = mkdtempSync(path.join(root, 'node_modules', '.cache-example-client-'));

/** The environment `npm run codegen` sees: under NODE_ENV=test the generator prints no validation errors. */
const codegenEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: undefined };

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Node script from the repository root; resolves with its exit code and output instead of throwing. */
async function node(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Exit> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

let server: TestServer;
let token: string;
beforeAll(async () => {
  server = await startTestServer();
  token = (await adminAuthorization()).replace(/^Bearer /, '');
});
afterAll(async () => {
  await server?.stop();
  rmSync(buildDir, { recursive: true, force: true });
});

describe('generated typed client (examples/client)', () => {
  it('`npm run codegen` generates typed documents from schema.graphql and the client operations', async () => {
    rmSync(generatedDir, { recursive: true, force: true });
    const result = await node([codegenBin, '--config', 'codegen.ts'], codegenEnv);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    for (const file of ['gql.ts', 'graphql.ts', 'index.ts']) expect(existsSync(path.join(generatedDir, file))).toBe(true);
    const types = readFileSync(path.join(generatedDir, 'graphql.ts'), 'utf8');
    for (const name of ['CreateUserDocument', 'TrashUserDocument', 'TrashBinDocument', 'RestoreUserDocument', 'RefetchNodeDocument']) {
      expect(types).toContain(`export const ${name}`);
    }
    // The union is typed member by member, as the client's `... on User` / `... on Post` fragments select it.
    expect(types).toMatch(/export type TrashBinQuery = [\s\S]*__typename: 'Post'[\s\S]*__typename: 'User'/);
    // `node` is typed by the Node interface: each implementing type is a member of its own.
    expect(types).toMatch(/export type RefetchNodeQuery = [\s\S]*__typename: 'AuditEvent'[\s\S]*__typename: 'User'/);
  }, 120_000);

  it('rejects an operation that does not match schema.graphql', async () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'codegen-invalid-'));
    try {
      writeFileSync(path.join(scratch, 'op.graphql'), 'query Broken { users { nodes { id noSuchField } } }\n');
      writeFileSync(
        path.join(scratch, 'codegen.json'),
        JSON.stringify({
          schema: path.join(root, 'schema.graphql'),
          documents: path.join(scratch, 'op.graphql'),
          generates: { [path.join(scratch, 'gql') + '/']: { preset: 'client' } },
        }),
      );
      const result = await node([codegenBin, '--config', path.join(scratch, 'codegen.json')], codegenEnv);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('Cannot query field "noSuchField" on type "User"');
      expect(existsSync(path.join(scratch, 'gql'))).toBe(false);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);

  it('the client type-checks against the generated types (tsc --noEmit -p examples/client)', async () => {
    const result = await node([tscBin, '--noEmit', '-p', 'examples/client']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }, 120_000);

  it('runs against a real server: creates, trashes, finds in the trash, restores and refetches a user', async () => {
    const build = await node([tscBin, '-p', 'examples/client', '--outDir', buildDir]);
    expect(build.code, build.stdout + build.stderr).toBe(0);

    const result = await node([path.join(buildDir, 'main.js')], { ...process.env, GRAPHQL_URL: server.url, GRAPHQL_TOKEN: token });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]);
    expect(summary).toEqual({
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: expect.stringMatching(/^demo_[0-9a-f]{12}$/),
      deletionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      deleteReason: 'example client run',
      trashCount: 1,
      foundInTrash: true,
      restored: true,
      refetchedByNode: true,
      version: 3,
    });

    // What the server really stored: the user is live again, after exactly create, delete and restore.
    const { rows: users } = await server.sql.query('select username, deleted_at, deletion_id, version from users where id = $1', [summary.userId]);
    expect(users).toEqual([{ username: summary.username, deleted_at: null, deletion_id: null, version: 3 }]);
    const { rows: events } = await server.sql.query('select action, deletion_id, reason from audit_events where entity_id = $1 order by at, action', [
      summary.userId,
    ]);
    expect(events.map((event) => event.action)).toEqual(['CREATE', 'DELETE', 'RESTORE']);
    expect(events[1]).toMatchObject({ deletion_id: summary.deletionId, reason: 'example client run' });
    const { rows: trash } = await server.sql.query('select count(*)::int as n from users where deleted_at is not null');
    expect(trash[0].n).toBe(0);
  }, 120_000);

  it('sends GRAPHQL_TOKEN: without it the server refuses, and the client exits 1 with the error code', async () => {
    const { GRAPHQL_TOKEN: _unused, ...withoutToken } = process.env;
    const result = await node([path.join(buildDir, 'main.js')], { ...withoutToken, GRAPHQL_URL: server.url });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^example client failed against .*: UNAUTHENTICATED: /);
    expect(await server.sql.query('select count(*)::int as n from users')).toMatchObject({ rows: [{ n: 1 }] });
  }, 60_000);

  it('exits non-zero with a message when the server cannot be reached', async () => {
    expect(existsSync(path.join(buildDir, 'main.js'))).toBe(true);
    const result = await node([path.join(buildDir, 'main.js')], { ...process.env, GRAPHQL_URL: 'http://127.0.0.1:9/graphql', GRAPHQL_TOKEN: token });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('example client failed against http://127.0.0.1:9/graphql');
  }, 60_000);
});

describe('example web app (examples/web)', () => {
  it('its documents match schema.graphql and it type-checks against the types generated from them (codegen, then tsc -p examples/web)', async () => {
    // The same two steps `npm run web:build` takes before bundling; the browser tests (npm run test:e2e) drive the result.
    const generated = await node([codegenBin, '--config', 'examples/web/codegen.ts', '--silent'], codegenEnv);
    expect(generated.code, generated.stdout + generated.stderr).toBe(0);
    expect(existsSync(path.join(root, 'examples', 'web', 'src', 'gql', 'possible-types.ts'))).toBe(true);
    const checked = await node([tscBin, '-p', 'examples/web']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
  }, 180_000);
});
