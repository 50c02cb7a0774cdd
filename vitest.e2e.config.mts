import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

/** `npm run test:e2e`: the browser flows in e2e/, on the same throwaway database set-up as `npm test`, and nothing else. */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ['e2e/**/*.e2e.ts'],
    globalSetup: base.test?.globalSetup,
    setupFiles: base.test?.setupFiles,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
