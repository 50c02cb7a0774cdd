/** `npm run bench -- [options]`: see parseArgs in bench.ts, and bench/README.md. */
import { parseArgs, runBench } from './bench';

async function main(): Promise<void> {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const run = await runBench(options);
  const missed = Object.entries(run.targets).filter(([, check]) => check.met === false);
  if (missed.length > 0) console.log(`\n${missed.length} target(s) missed: ${missed.map(([name]) => name).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
