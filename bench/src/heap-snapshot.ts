import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What the server's heap holds, from a V8 heap snapshot (`node
 * --heapsnapshot-signal`). V8 collects garbage before writing one, so the
 * snapshot is the live heap only: comparing it with the RSS tells whether
 * memory is held (a cache, a leak) or merely not yet collected.
 */
export interface HeapSummary {
  round: number;
  /** Sum of the self sizes of every object in the snapshot. */
  liveMb: number;
  /** The largest holders by constructor (objects, closures) or kind (strings, code, arrays, ...). */
  top: Array<{ name: string; mb: number; count: number }>;
}

interface HeapSnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Summarises a .heapsnapshot by constructor name (objects and closures) or by node kind (everything else). */
export function summariseHeapSnapshot(file: string, round: number, top = 12): HeapSummary {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshotFile;
  const fields = snapshot.snapshot.meta.node_fields;
  const kinds = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const kindAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const holders = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let index = 0; index < snapshot.nodes.length; index += width) {
    const kind = kinds[snapshot.nodes[index + kindAt]];
    const name = kind === 'object' || kind === 'closure' ? snapshot.strings[snapshot.nodes[index + nameAt]] || '(anonymous)' : `(${kind})`;
    const size = snapshot.nodes[index + sizeAt];
    total += size;
    const holder = holders.get(name) ?? { bytes: 0, count: 0 };
    holder.bytes += size;
    holder.count += 1;
    holders.set(name, holder);
  }
  const megabytes = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;
  return {
    round,
    liveMb: megabytes(total),
    top: [...holders]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([name, holder]) => ({ name: name.slice(0, 60), mb: megabytes(holder.bytes), count: holder.count })),
  };
}

/**
 * Asks the process to write a snapshot into `directory` (it was started with
 * `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir <directory>`), waits until
 * the file is complete, summarises and deletes it.
 */
export async function takeHeapSnapshot(pid: number, directory: string, round: number): Promise<HeapSummary> {
  const before = new Set(existsSync(directory) ? readdirSync(directory) : []);
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  let file: string | undefined;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    file ??= readdirSync(directory).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
    if (!file) continue;
    // Written in one go by the signalled process; complete once its size stops changing and it parses.
    const size = statSync(path.join(directory, file)).size;
    if (size > 0 && size === lastSize) {
      let summary: HeapSummary | undefined;
      try {
        summary = summariseHeapSnapshot(path.join(directory, file), round);
      } catch {
        // Not complete yet: look again.
      }
      if (summary) {
        rmSync(path.join(directory, file), { force: true });
        return summary;
      }
    }
    lastSize = size;
  }
  throw new Error(`no heap snapshot from process ${pid} within 120 s`);
}
