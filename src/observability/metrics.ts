import type { MikroORM } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyTrashPolicy } from '../trash/trash-policy';
import type { TrashChange, TrashObserver } from '../trash/trash-observer';
import type { RequestOutcome } from './request-log';
import { ReadExecutor } from '../db/compiled/read-executor';
import { withTimeout } from '../db/with-timeout';
import { RowCounts } from '../trash/row-counts';

/**
 * Prometheus metrics: requests and their duration by operation and outcome,
 * errors by code, items in the trash by type, rows purged, database pool
 * usage, and Node's default process metrics. One registry per app, so tests
 * can run several apps in one process.
 */
export class Metrics implements TrashObserver {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL requests by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'GraphQL request duration by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'graphql_errors_total',
    help: 'GraphQL errors by extensions.code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly purgedRows = new Counter({
    name: 'trash_purged_rows_total',
    help: 'Rows removed for good (cascaded children included), by purged record type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** Operation names seen as label values; past MAX_OPERATION_LABELS, new names count as `other`. */
  private readonly operationLabels = new Set<string>();

  constructor(orm: MikroORM, policies: readonly AnyTrashPolicy[], options: { trashRefreshSeconds: number }) {
    collectDefaultMetrics({ register: this.registry });
    const trashCounts = new SharedRefresh(async () => {
      const em = orm.em.fork();
      const counts = new Map<string, number>();
      const rowCounts = new RowCounts(new ReadExecutor(em));
      for (const policy of policies) counts.set(policy.typeName, await rowCounts.count(policy.entity, 'trashed'));
      return counts;
    }, options.trashRefreshSeconds * 1000);
    new Gauge({
      name: 'trash_items',
      help: 'Records in the trash, by type (read from the maintained row counts at most every METRICS_TRASH_REFRESH_SECONDS)',
      labelNames: ['type'] as const,
      registers: [this.registry],
      async collect() {
        let counts: Map<string, number>;
        try {
          counts = await withTimeout(trashCounts.get(), TRASH_COUNT_DEADLINE_MS);
        } catch {
          // Database unreachable or too slow: the scrape still reports everything else, without these series.
          this.reset();
          return;
        }
        for (const [type, count] of counts) this.set({ type }, count);
      },
    });
    const pool = () => (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const current = pool();
        this.set({ state: 'used' }, current?.numUsed() ?? 0);
        this.set({ state: 'free' }, current?.numFree() ?? 0);
        this.set({ state: 'pending' }, current?.numPendingAcquires() ?? 0);
      },
    });
  }

  observeRequest(outcome: RequestOutcome): void {
    const labels = { operation: this.operationLabel(outcome.operation), outcome: outcome.errorCodes.length > 0 ? 'error' : 'success' };
    this.requests.inc(labels);
    this.duration.observe(labels, outcome.durationMs / 1000);
    for (const code of outcome.errorCodes) this.errors.inc({ code });
  }

  private operationLabel(operation: string): string {
    if (this.operationLabels.has(operation)) return operation;
    if (this.operationLabels.size >= MAX_OPERATION_LABELS) return 'other';
    this.operationLabels.add(operation);
    return operation;
  }

  trashChanged(change: TrashChange): void {
    if (change.action === 'PURGE') this.purgedRows.inc({ type: change.entityType }, change.affected);
  }
}

/** Distinct operation names a process labels its request metrics with; each adds about 15 series. */
export const MAX_OPERATION_LABELS = 100;

/** How long a scrape waits for the trash counts before answering without them. */
const TRASH_COUNT_DEADLINE_MS = 2000;

/**
 * A value computed at most once per `maxAgeMs`: callers in between get the
 * last result, and callers while it is being computed share that computation.
 * A failed computation is not kept.
 */
class SharedRefresh<T> {
  private current: { value: Promise<T>; settledAt?: number } | undefined;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<T> {
    const current = this.current;
    if (current && (current.settledAt === undefined || Date.now() - current.settledAt < this.maxAgeMs)) return current.value;
    const next: { value: Promise<T>; settledAt?: number } = { value: this.compute() };
    this.current = next;
    next.value.then(
      () => (next.settledAt = Date.now()),
      () => {
        if (this.current === next) this.current = undefined;
      },
    );
    return next.value;
  }
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
