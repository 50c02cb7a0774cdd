/** Bounds of the cost cache: entries, and the length of one key (longer keys are not remembered). */
const MAX_ENTRIES = 5000;
const MAX_KEY_LENGTH = 512;

/**
 * Costs already computed, least recently used first out. Keys hold only what
 * a cost depends on (the document's hash, the operation's name and the page
 * sizes given through variables), so memory stays within
 * MAX_ENTRIES × MAX_KEY_LENGTH characters whatever clients send.
 */
export class CostCache {
  private readonly costs = new Map<string, number>();

  static key(queryHash: string | undefined, operationName: string | undefined, pageSizes: unknown[]): string | undefined {
    if (queryHash === undefined) return undefined;
    const key = `${queryHash}:${operationName ?? ''}:${pageSizes.map((size) => (typeof size === 'number' ? size : '-')).join(',')}`;
    return key.length <= MAX_KEY_LENGTH ? key : undefined;
  }

  get(key: string | undefined): number | undefined {
    if (key === undefined) return undefined;
    const cost = this.costs.get(key);
    if (cost !== undefined) {
      // Re-inserting moves the key to the end of the Map's order: most recently used.
      this.costs.delete(key);
      this.costs.set(key, cost);
    }
    return cost;
  }

  set(key: string | undefined, cost: number): void {
    if (key === undefined) return;
    this.costs.set(key, cost);
    if (this.costs.size > MAX_ENTRIES) this.costs.delete(this.costs.keys().next().value as string);
  }

  get size(): number {
    return this.costs.size;
  }
}
