/**
 * Loaded into the measured server with `node --require` (`npm run bench --
 * --count-promises`): counts the promises the process creates, with an async
 * hook's `init` for type PROMISE. Each SIGUSR2 writes `{ "reads": n,
 * "promises": count }` to BENCH_PROMISE_COUNT, `n` counting the signals, so
 * the benchmark knows the figure it reads is the one it asked for.
 *
 * Promises are what every `await`, async function and `Promise.all` costs, and
 * on Node 20 each also runs AsyncLocalStorage's promise hook once anything has
 * entered one; their number per request is exact where CPU time is noisy. The
 * hook itself makes every promise dearer, so ratios of such a run are low.
 */
import { createHook } from 'node:async_hooks';
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.BENCH_PROMISE_COUNT;
if (target) {
  let promises = 0;
  let reads = 0;
  createHook({
    init(_id, type) {
      if (type === 'PROMISE') promises += 1;
    },
  }).enable();
  process.on('SIGUSR2', () => {
    reads += 1;
    writeFileSync(target, JSON.stringify({ reads, promises }));
  });
}

/**
 * In the benchmark: the promises the server (started with this module and
 * BENCH_PROMISE_COUNT=file) has created so far: it is signalled, and its
 * answer is the one counting one more signal than the file held before.
 */
export async function promisesCreated(pid: number, file: string): Promise<number> {
  const answered = readCount(file)?.reads ?? 0;
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const count = readCount(file);
    if (count?.reads === answered + 1) return count.promises;
  }
  throw new Error(`process ${pid} did not report its promises within 10 s`);
}

function readCount(file: string): { reads: number; promises: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { reads: number; promises: number };
  } catch {
    // Not written yet, or being written.
    return undefined;
  }
}
