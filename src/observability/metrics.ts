import type { MikroORM } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AnyTrashPolicy } from '../trash/trash-policy';
import { withoutSoftDelete } from '../trash/trashable.entity';
import type { TrashChange, TrashObserver } from '../trash/trash-observer';
import type { RequestOutcome } from './request-log';

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

  constructor(orm: MikroORM, policies: readonly AnyTrashPolicy[]) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'trash_items',
      help: 'Records in the trash, by type (counted from the partial trash indexes at scrape time)',
      labelNames: ['type'] as const,
      registers: [this.registry],
      async collect() {
        const em = orm.em.fork();
        for (const policy of policies) {
          this.set({ type: policy.typeName }, await em.count(policy.entity, { deletedAt: { $ne: null } }, withoutSoftDelete));
        }
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
    const labels = { operation: outcome.operation, outcome: outcome.errorCodes.length > 0 ? 'error' : 'success' };
    this.requests.inc(labels);
    this.duration.observe(labels, outcome.durationMs / 1000);
    for (const code of outcome.errorCodes) this.errors.inc({ code });
  }

  trashChanged(change: TrashChange): void {
    if (change.action === 'PURGE') this.purgedRows.inc({ type: change.entityType }, change.affected);
  }
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}
