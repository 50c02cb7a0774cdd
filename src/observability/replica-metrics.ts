import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReadRoutingObserver, ReplicaStatus, RouteReason } from '../db/read-routing';

/**
 * Read routing on /metrics: each replica's lag and whether it is in use (read
 * from the router at scrape time), reads routed per target and reason, and
 * statements a failing replica handed to the primary.
 */
export class ReplicaMetrics implements ReadRoutingObserver {
  private readonly routes: Counter<'target' | 'reason'>;
  private readonly failovers: Counter<'replica'>;

  constructor(registry: Registry, status: () => ReplicaStatus[]) {
    this.routes = new Counter({
      name: 'db_read_routes_total',
      help: 'Read-only requests by the server they read from (primary or a replica) and why',
      labelNames: ['target', 'reason'] as const,
      registers: [registry],
    });
    this.failovers = new Counter({
      name: 'db_replica_failovers_total',
      help: 'Statements a replica could not serve, run on the primary instead',
      labelNames: ['replica'] as const,
      registers: [registry],
    });
    new Gauge({
      name: 'db_replica_lag_seconds',
      help: 'Replay lag of each replica at its last check (NaN before one succeeded)',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const replica of status()) this.set({ replica: replica.name }, replica.lagMs === null ? NaN : replica.lagMs / 1000);
      },
    });
    new Gauge({
      name: 'db_replica_up',
      help: '1 while a replica serves reads, 0 while it is skipped (unreachable or lagging)',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        for (const replica of status()) this.set({ replica: replica.name }, replica.usable ? 1 : 0);
      },
    });
  }

  routed(target: string, reason: RouteReason): void {
    this.routes.inc({ target, reason });
  }

  failedOver(replica: string): void {
    this.failovers.inc({ replica });
  }
}
