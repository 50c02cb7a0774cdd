import { MikroORM, type EntityManager, type PostgreSqlConnection } from '@mikro-orm/postgresql';
import type { ClientBase } from 'pg';
import type { Logger } from 'pino';
import type { Config, ReplicaSettings } from '../config';
import type { OrmOptionsFor } from './database';
import { failoverOf, replicaCannotServe, replicaDriver } from './replica-driver';
import { COMMITTED_POSITION_SQL, formatWalPosition, parseWalPosition } from './wal-position';
import { withTimeout } from './with-timeout';

/** Where a read-only request runs its statements: the primary or one replica. */
export interface ReadTarget {
  /** `primary`, or the replica's name (`replica-1`, ...): a log field and metric label. */
  readonly name: string;
  /** Fork it for a request: everything run through it goes to this server. */
  readonly em: EntityManager;
}

/** Why a read went where it went (a metric label). */
export type RouteReason = 'replica' | 'replica_after_wait' | 'no_usable_replica' | 'token_not_replayed';

/** Told about every routing decision and every statement a replica handed to the primary (metrics). */
export interface ReadRoutingObserver {
  routed(target: string, reason: RouteReason): void;
  failedOver(replica: string): void;
}

/** What is known about one replica, for /metrics. */
export interface ReplicaStatus {
  readonly name: string;
  /** Reachable, replaying, and lagging no more than REPLICA_MAX_LAG_MS. */
  readonly usable: boolean;
  /** Replay lag at the last check; null before the first successful one. */
  readonly lagMs: number | null;
}

interface Replica {
  readonly name: string;
  /** host:port, for log lines (never the credentials). */
  readonly address: string;
  readonly orm: MikroORM;
  readonly target: ReadTarget;
  /** Unknown until the first check; then one log line per change between in use and skipped. */
  state: 'unknown' | 'usable' | 'skipped';
  /** Unreachable at the last check or statement: its statements go to the primary at once. */
  down: boolean;
  replayed: bigint | null;
  lagMs: number | null;
}

/** How often a read waiting for a replica to replay past its token looks again. */
const WAIT_POLL_MS = 10;
/** A replica that takes longer than this to answer a check counts as unreachable. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * Decides, per request, which server a read-only request reads from, and
 * keeps track of each replica's health. A request goes to a replica that is
 * reachable, lags at most REPLICA_MAX_LAG_MS and, when the request carries a
 * consistency token, has replayed past it; it waits up to REPLICA_WAIT_MS for
 * one to catch up, then reads from the primary. Writes, transactions,
 * migrations, the retention job and readiness never come here: they use the
 * primary's ORM directly.
 *
 * MikroORM's own `replicas` option picks a random replica for each statement,
 * with no notion of lag or of a token, and would spread one request over
 * replicas at different positions (a page and its count could then disagree).
 * So each replica gets an ORM of its own, and a request reads through a fork
 * of the one chosen for it.
 */
export class ReadRouter {
  readonly primary: ReadTarget;
  private readonly replicas: Replica[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private turn = 0;
  /** The primary's position at recent checks, oldest first: how old a replica's view is follows from them. */
  private readonly primaryHistory: Array<{ at: number; position: bigint }> = [];

  private constructor(
    private readonly primaryOrm: MikroORM,
    private readonly settings: ReplicaSettings,
    private readonly logger: Logger,
    private readonly observer: ReadRoutingObserver | undefined,
  ) {
    this.primary = { name: 'primary', em: primaryOrm.em };
  }

  /** Connects to each replica (lazily: one that is down at start is skipped, not fatal) and checks them once. */
  static async open(
    primaryOrm: MikroORM,
    config: Config,
    logger: Logger,
    ormOptions: OrmOptionsFor,
    observer?: ReadRoutingObserver,
  ): Promise<ReadRouter> {
    const router = new ReadRouter(primaryOrm, config.replicas, logger, observer);
    for (const [index, url] of config.replicas.urls.entries()) {
      const options = ormOptions(url, logger, { statementTimeoutMs: config.limits.statementTimeoutMs, requestTimeoutMs: config.database.requestTimeoutMs });
      await router.addReplica(`replica-${index + 1}`, url, options);
    }
    await router.checkReplicas();
    router.timer = setInterval(() => void router.checkReplicas(), config.replicas.checkIntervalMs);
    router.timer.unref();
    return router;
  }

  private async addReplica(name: string, url: string, options: ReturnType<OrmOptionsFor>): Promise<void> {
    const parsed = new URL(url);
    let replica: Replica | undefined;
    const orm = await MikroORM.init({
      ...options,
      driver: replicaDriver({
        isDown: () => replica?.down ?? true,
        failed: (error) => {
          this.observer?.failedOver(name);
          this.markDown(replica!, error);
        },
        primary: () => this.primaryOrm.em.getConnection() as PostgreSqlConnection,
      }),
      // A replica that is down at start-up is skipped until it answers, so nothing is checked here.
      connect: false,
      ensureDatabase: false,
      driverOptions: {
        ...(options.driverOptions as Record<string, unknown>),
        // Fail fast on a dead replica: its statements then run on the primary.
        acquireConnectionTimeout: 2000,
        // The pool's own notices about connections a stopped replica closed: expected, and counted as skips already.
        log: { warn: (message: string) => this.logger.debug({ replica: name, knex: message }, 'replica connection notice') },
        connection: { ...(options.driverOptions as { connection?: object }).connection, connectionTimeoutMillis: 1000 },
      },
    });
    replica = { name, address: `${parsed.hostname}:${parsed.port || 5432}`, orm, target: { name, em: orm.em }, state: 'unknown', down: false, replayed: null, lagMs: null };
    this.replicas.push(replica);
  }

  /**
   * The server for a read-only request. With a token (a WAL position from a
   * mutation's response), only a replica that has replayed past it will do.
   */
  async route(token: bigint | undefined): Promise<ReadTarget> {
    if (!this.replicas.some((replica) => replica.state === 'usable')) return this.toPrimary('no_usable_replica');
    let ready = this.replayedPast(token);
    let reason: RouteReason = 'replica';
    if (ready.length === 0 && token !== undefined) {
      const deadline = Date.now() + this.settings.waitMs;
      while (ready.length === 0 && Date.now() < deadline) {
        await sleep(Math.min(WAIT_POLL_MS, deadline - Date.now()));
        await this.refreshReplayPositions();
        ready = this.replayedPast(token);
      }
      if (ready.length === 0) return this.toPrimary('token_not_replayed');
      reason = 'replica_after_wait';
    }
    const replica = ready[this.turn++ % ready.length];
    this.observer?.routed(replica.name, reason);
    return replica.target;
  }

  /** The token a mutation's response carries: read after its commits, in a statement of its own, on the primary. */
  async consistencyToken(): Promise<string> {
    return formatWalPosition(await this.primaryPosition());
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((replica) => ({ name: replica.name, usable: replica.state === 'usable', lagMs: replica.lagMs }));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
    await Promise.all(this.replicas.map((replica) => replica.orm.close(true)));
  }

  private toPrimary(reason: RouteReason): ReadTarget {
    this.observer?.routed(this.primary.name, reason);
    return this.primary;
  }

  private replayedPast(token: bigint | undefined): Replica[] {
    return this.replicas.filter(
      (replica) => replica.state === 'usable' && !replica.down && (token === undefined || (replica.replayed !== null && replica.replayed >= token)),
    );
  }

  private async primaryPosition(): Promise<bigint> {
    const [row] = await this.primaryOrm.em.getConnection().execute<Array<{ position: string }>>(COMMITTED_POSITION_SQL);
    return parseWalPosition(row.position)!;
  }

  /** One check at a time: a slow replica must not pile checks up. */
  private checkReplicas(): Promise<void> {
    this.checking ??= this.measureReplicas().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /**
   * Lag: none when the replica has replayed what the primary had written just
   * before; otherwise the age of the newest check at which the primary was no
   * further than the replica is now: its view is at most that old. (Not the
   * time since it last replayed a transaction: on an idle primary that is
   * large while the replica lacks nothing but a moment's housekeeping record.)
   * Before there is such a check, the time since its last replayed transaction
   * stands in.
   */
  private async measureReplicas(): Promise<void> {
    const primaryPosition = await this.primaryPosition().catch(() => undefined);
    const now = Date.now();
    if (primaryPosition !== undefined) this.recordPrimaryPosition(now, primaryPosition);
    await Promise.all(
      this.replicas.map(async (replica) => {
        let row: { in_recovery: boolean; replayed: string | null; since_replay_ms: number | null };
        try {
          [row] = await withTimeout(
            rawQuery(
              replica,
              `select pg_is_in_recovery() as in_recovery, pg_last_wal_replay_lsn()::text as replayed,
                      (extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 as since_replay_ms`,
            ),
            CHECK_TIMEOUT_MS,
          );
        } catch (error) {
          this.markDown(replica, error);
          return;
        }
        replica.down = false;
        if (!row.in_recovery) return this.skip(replica, 'not a replica: it is not in recovery');
        replica.replayed = row.replayed ? (parseWalPosition(row.replayed) ?? null) : null;
        if (primaryPosition !== undefined) replica.lagMs = this.lagOf(replica.replayed, primaryPosition, now, row.since_replay_ms);
        if (replica.lagMs === null || replica.lagMs > this.settings.maxLagMs) {
          return this.skip(replica, replica.lagMs === null ? 'lag unknown: nothing replayed yet' : `lags ${replica.lagMs} ms`);
        }
        if (replica.state === 'skipped') this.logger.info({ replica: replica.name, address: replica.address, lagMs: replica.lagMs }, 'replica back in use');
        replica.state = 'usable';
      }),
    );
  }

  private recordPrimaryPosition(at: number, position: bigint): void {
    this.primaryHistory.push({ at, position });
    // Enough history to tell any lag up to twice the limit; older checks say nothing more.
    const horizon = at - 2 * this.settings.maxLagMs - 2 * this.settings.checkIntervalMs;
    while (this.primaryHistory.length > 2 && this.primaryHistory[0].at < horizon) this.primaryHistory.shift();
  }

  private lagOf(replayed: bigint | null, primaryPosition: bigint, now: number, sinceReplayMs: number | null): number | null {
    if (replayed !== null && replayed >= primaryPosition) return 0;
    const reached = replayed === null ? undefined : this.primaryHistory.findLast((check) => check.position <= replayed);
    if (reached) return now - reached.at;
    const oldest = now - this.primaryHistory[0].at;
    return sinceReplayMs === null ? null : Math.max(oldest, Math.round(sinceReplayMs));
  }

  /** While reads wait for a token, the replay positions of usable replicas are read again (one refresh at a time). */
  private refreshReplayPositions(): Promise<void> {
    this.refreshing ??= Promise.all(
      this.replayedPast(undefined).map(async (replica) => {
        try {
          const [row] = await withTimeout(rawQuery<{ replayed: string | null }>(replica, 'select pg_last_wal_replay_lsn()::text as replayed'), CHECK_TIMEOUT_MS);
          if (row.replayed) replica.replayed = parseWalPosition(row.replayed) ?? replica.replayed;
        } catch (error) {
          this.markDown(replica, error);
        }
      }),
    ).then(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private markDown(replica: Replica, error: unknown): void {
    replica.down = true;
    this.skip(replica, `unreachable: ${error instanceof Error ? error.message : String(error)}`);
  }

  private skip(replica: Replica, reason: string): void {
    if (replica.state !== 'skipped') this.logger.warn({ replica: replica.name, address: replica.address, reason }, 'replica skipped: reads go elsewhere');
    replica.state = 'skipped';
  }
}

/** Health checks bypass the replica connection's fallback: they must see the replica itself. */
async function rawQuery<Row>(replica: Replica, sql: string): Promise<Row[]> {
  const knex = (replica.orm.em.getConnection() as PostgreSqlConnection).getKnex();
  const result = (await knex.raw(sql)) as { rows: Row[] };
  return result.rows;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Runs `work` on a pg client of the server `em` belongs to, for code that
 * sends its own statements (prepared ones, say) on a request's EntityManager:
 * it reads where the request was routed. When that server is a replica that
 * cannot serve, `work` runs again on the primary, as the ORM's statements do.
 */
export async function withPgClient<R>(em: EntityManager, work: (client: ClientBase) => Promise<R>): Promise<R> {
  const run = async (connection: PostgreSqlConnection) => {
    const client = connection.getKnex().client;
    const pgClient = (await client.acquireConnection()) as ClientBase;
    try {
      return await work(pgClient);
    } finally {
      await client.releaseConnection(pgClient);
    }
  };
  const own = em.getConnection() as PostgreSqlConnection;
  const failover = failoverOf(em.getDriver());
  if (!failover) return run(own);
  if (failover.isDown()) return run(failover.primary());
  try {
    return await run(own);
  } catch (error) {
    if (!replicaCannotServe(error)) throw error;
    failover.failed(error);
    return run(failover.primary());
  }
}
