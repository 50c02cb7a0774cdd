import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The benchmark runs the application from its build (`dist/`), as `npm start`
 * does, and loads the few helpers it needs from there too (migrations, token
 * signing, cursors, the retention job) rather than from `src/`, so it measures
 * exactly what ships. Works from `bench/src` (vitest) and `bench/dist` (node).
 */
export const repoRoot = path.resolve(__dirname, '..', '..');
export const distDir = path.join(repoRoot, 'dist');
export const benchDistDir = path.join(repoRoot, 'bench', 'dist');
export const requireFromRoot = createRequire(path.join(repoRoot, 'package.json'));

/** A module of the application's build, e.g. `requireDist('auth/token-signer.js')`. */
export function requireDist<T>(relative: string): T {
  // Some of these modules declare GraphQL types with decorators, which need the metadata polyfill first (main.ts loads it for the server).
  requireFromRoot('reflect-metadata');
  return requireFromRoot(path.join(distDir, relative)) as T;
}

/** The secret the benchmarked server verifies tokens with (it runs with NODE_ENV=production). */
export const BENCH_JWT_SECRET = 'trash-graphql-benchmark-secret-0123456789abcdef';

/** Subject of the benchmark's admin token. */
export const BENCH_ADMIN_ID = '00000000-0000-7000-8000-0000000be4c1';

/** Default name of the benchmark's database, on the embedded or the external server. */
export const DEFAULT_DATABASE_NAME = 'trash_graphql_bench';
