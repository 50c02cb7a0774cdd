import { mergeConfig } from 'vitest/config';
import base from './vitest.config.mts';

/** `npm run test:e2e`: the browser flows in e2e/, on the same throwaway database set-up as `npm test`. */
export default mergeConfig(base, {
  test: {
    include: ['e2e/**/*.e2e.ts'],
    maxWorkers: 1,
    testTimeout: 180_000,
  },
});
