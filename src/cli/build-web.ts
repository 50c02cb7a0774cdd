import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config';

const root = path.resolve(__dirname, '..', '..');
const webDir = path.join(root, 'examples', 'web');
const stampFile = path.join(webDir, 'dist', '.source-hash');

/** Everything the built app depends on: its sources and the schema its documents are checked against. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const inputs = [path.join(root, 'schema.graphql'), path.join(root, 'package-lock.json'), ...listSources(webDir)];
  for (const file of inputs.sort()) hash.update(path.relative(root, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex');
}

function listSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'dist' || name === 'gql' || name === 'node_modules') return [];
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listSources(full) : [full];
  });
}

/** Generates the typed documents and possibleTypes, type-checks, then builds with Vite. */
export function buildWebApp(): void {
  const bin = (name: string, file: string) => path.join(path.dirname(require.resolve(`${name}/package.json`, { paths: [root] })), file);
  const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  run([bin('@graphql-codegen/cli', 'cjs/bin.js'), '--config', 'examples/web/codegen.ts', '--silent']);
  // Vite strips types without checking them.
  run([bin('typescript', 'bin/tsc'), '-p', 'examples/web']);
  run([bin('vite', 'bin/vite.js'), 'build', 'examples/web']);
  writeFileSync(stampFile, sourceHash());
}

/**
 * `npm run web:build` builds the example web app; with `--if-needed` (what
 * `npm start` runs) only when it is to be served and its sources changed
 * since the last build, so starts after the first are not slowed down.
 */
function main(): void {
  const ifNeeded = process.argv.includes('--if-needed');
  if (ifNeeded) {
    if (!loadConfig().serveWebApp) return;
    if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === sourceHash()) return;
    try {
      require.resolve('vite/package.json', { paths: [root] });
    } catch {
      console.warn('web app not built: its build tools (devDependencies) are not installed');
      return;
    }
    console.log('building the web app (examples/web) once; later starts reuse it until its sources change');
  }
  buildWebApp();
}

if (require.main === module) {
  try {
    if (existsSync('.env')) process.loadEnvFile('.env');
    main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  }
}
