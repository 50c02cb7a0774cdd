import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser connection; each test file creates and drops its own database through it. */
    adminDatabaseUrl: string;
  }
}

/**
 * Builds dist/, then starts one throwaway embedded PostgreSQL for the whole run, or uses
 * DATABASE_URL when it is set (test files then create and drop their own
 * databases there and touch nothing else).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Tests that start the real `node dist/main.js` (shutdown) need the build; built once, before any file runs.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });
  const external = process.env.DATABASE_URL;
  if (external) {
    project.provide('adminDatabaseUrl', external);
    return async () => {};
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trash-graphql-test-'));
  const postgres = await startEmbeddedPostgres({ dataDir, durable: false, logger: pino({ level: 'warn' }) });
  project.provide('adminDatabaseUrl', postgres.url);
  return async () => {
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
