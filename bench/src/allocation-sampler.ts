/**
 * Loaded into the measured server with `node --require` (`npm run bench --
 * --alloc-profile`): V8's sampling heap profiler, told to keep the samples of
 * objects the garbage collector has already freed, so the profile shows where
 * the allocations are made (what the collector has to clean up), not only what
 * is still alive. Written as JSON to BENCH_ALLOCATION_PROFILE when the process
 * exits; `summariseAllocations` reads it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const target = process.env.BENCH_ALLOCATION_PROFILE;
if (target) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  // An in-process session answers synchronously, so this completes inside the exit handler.
  process.on('exit', () => {
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error) writeFileSync(target, JSON.stringify(result.profile));
    });
  });
}
