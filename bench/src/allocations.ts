import { readFileSync } from 'node:fs';
import { frameLocation } from './profile';

interface AllocationNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

interface AllocationProfile {
  head: AllocationNode;
  samples: Array<{ size: number; nodeId: number; ordinal: number }>;
}

export interface AllocationSummary {
  /** Bytes allocated from the first GraphQL request on (sampled), MB. */
  allocatedMb: number;
  /** Allocated bytes per function that made the allocation, highest first; shares of the total. */
  functions: Array<{ name: string; where: string; mb: number; share: number }>;
}

/**
 * Where the server allocated memory while it served requests, from the
 * profile `allocation-sampler.ts` wrote. Samples are counted from the first
 * one made inside Apollo's request pipeline, so start-up is left out.
 */
export function summariseAllocations(file: string, top = 20): AllocationSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as AllocationProfile;
  const nodes = new Map<number, { node: AllocationNode; inRequest: boolean }>();
  const visit = (node: AllocationNode, inRequest: boolean) => {
    const here = inRequest || node.callFrame.functionName === 'processGraphQLRequest';
    nodes.set(node.id, { node, inRequest: here });
    for (const child of node.children) visit(child, here);
  };
  visit(profile.head, false);
  const ordered = [...profile.samples].sort((a, b) => a.ordinal - b.ordinal);
  const first = ordered.findIndex((sample) => nodes.get(sample.nodeId)?.inRequest);
  const byFunction = new Map<string, { name: string; where: string; bytes: number }>();
  let total = 0;
  for (const sample of first < 0 ? [] : ordered.slice(first)) {
    const node = nodes.get(sample.nodeId)?.node;
    if (!node) continue;
    total += sample.size;
    const name = node.callFrame.functionName || '(anonymous)';
    const where = frameLocation(node.callFrame.url, node.callFrame.lineNumber);
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, bytes: 0 };
    entry.bytes += sample.size;
    byFunction.set(key, entry);
  }
  const megabytes = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
  return {
    allocatedMb: megabytes(total),
    functions: [...byFunction.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, top)
      .map((entry) => ({ name: entry.name, where: entry.where, mb: megabytes(entry.bytes), share: Math.round((1000 * entry.bytes) / Math.max(1, total)) / 10 })),
  };
}
