import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { DatabaseUnreachableError } from './db/wait-for-database';

/** Starts the server from the environment (and `.env` when present) and stops it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  // Variables already in the environment win over the file.
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now": nothing more is awaited.
      app.logger.warn({ signal }, 'second signal: exiting at once');
      app.abort();
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down: finishing in-flight requests');
    app.stop().then(
      () => process.exit(0),
      (error) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error) => {
  // An expected way to fail says so in one line; anything else keeps its stack for whoever investigates.
  console.error(error instanceof DatabaseUnreachableError || error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
