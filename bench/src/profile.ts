import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled time in which the process was busy (not idle), from its first GraphQL request on, ms. */
  busyMs: number;
  /** Self time per function, highest first; shares of busy time. */
  functions: Array<{ name: string; where: string; selfMs: number; share: number }>;
  /** Time spent in a function and everything it called (each stack counted once), highest first. */
  inclusive: Array<{ name: string; where: string; ms: number; share: number }>;
  /** Self time per package (node_modules/<name>), the app's own code, node internals, GC. */
  packages: Array<{ name: string; selfMs: number; share: number }>;
}

const NOT_BUSY = new Set(['(idle)', '(program)']);
/** Frames every stack goes through; their inclusive time says nothing. */
const GENERIC = new Set(['(root)', 'processTicksAndRejections', 'runMicrotasks', 'processImmediate', 'listOnTimeout', 'emit', '(anonymous)']);

/** `file:line` of a profile's call frame, relative to the repository when inside it. */
export function frameLocation(url: string, line: number): string {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const relative = file.startsWith(repoRoot) ? path.relative(repoRoot, file) : file;
  return `${relative}:${line + 1}`;
}

function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (match) return match[1];
  if (file.startsWith('node:') || !file.startsWith('/')) return '(node internals)';
  if (file.startsWith(path.join(repoRoot, 'dist'))) return '(app: dist/)';
  return file;
}

/** Self and inclusive time by function, and self time by package, from a V8 .cpuprofile (node --cpu-prof). */
export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  // Start-up (loading modules, building the schema, connecting) is not what the benchmark measures:
  // samples count from the first one inside Apollo's request pipeline.
  const inRequest = (id: number) => {
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      if (byId.get(current)!.callFrame.functionName === 'processGraphQLRequest') return true;
    }
    return false;
  };
  const firstRequest = Math.max(0, profile.samples.findIndex(inRequest));
  const selfUs = new Map<number, number>();
  for (let i = firstRequest; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + delta);
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const inclusive = new Map<string, { name: string; where: string; us: number }>();
  const packages = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (NOT_BUSY.has(node.callFrame.functionName)) continue;
    busyUs += us;
    const name = node.callFrame.functionName || '(anonymous)';
    const at = frameLocation(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name} ${at}`;
    const entry = functions.get(key) ?? { name, where: at, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const pkg = packageOf(node);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const frame = byId.get(current)!.callFrame;
      const frameName = frame.functionName || '(anonymous)';
      if (GENERIC.has(frameName)) continue;
      const frameKey = `${frameName} ${frameLocation(frame.url, frame.lineNumber)}`;
      if (seen.has(frameKey)) continue;
      seen.add(frameKey);
      const total = inclusive.get(frameKey) ?? { name: frameName, where: frameLocation(frame.url, frame.lineNumber), us: 0 };
      total.us += us;
      inclusive.set(frameKey, total);
    }
  }
  const share = (us: number) => Math.round((1000 * us) / Math.max(1, busyUs)) / 10;
  return {
    file,
    busyMs: Math.round(busyUs / 1000),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((entry) => ({ name: entry.name, where: entry.where, selfMs: Math.round(entry.us / 1000), share: share(entry.us) })),
    inclusive: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top * 2)
      .map((entry) => ({ name: entry.name, where: entry.where, ms: Math.round(entry.us / 1000), share: share(entry.us) })),
    packages: [...packages.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), share: share(us) })),
  };
}
