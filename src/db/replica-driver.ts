import type { Configuration } from '@mikro-orm/core';
import { PostgreSqlConnection, PostgreSqlDriver } from '@mikro-orm/postgresql';

/** What a replica's connection needs to know to hand a statement over to the primary. */
export interface ReplicaFailover {
  /** True once the replica is known to be unreachable: statements then go straight to the primary. */
  isDown(): boolean;
  /** Told when a statement failed because the replica could not serve it. */
  failed(error: unknown): void;
  /** The primary's connection, which runs the statement instead. */
  primary(): PostgreSqlConnection;
}

type ExecuteArguments = Parameters<PostgreSqlConnection['execute']>;

const failovers = new WeakMap<object, ReplicaFailover>();

/** The fallback of a replica's driver; undefined for the primary's. */
export function failoverOf(driver: object): ReplicaFailover | undefined {
  return failovers.get(driver);
}

/**
 * A MikroORM driver for one replica whose statements fall back to the
 * primary when the replica cannot serve them (stopped, restarting,
 * unreachable, or cancelling a read for a conflict with replay). Only reads
 * outside a transaction run on a replica, so running one again on the primary
 * is always safe, and the client sees no error.
 */
export function replicaDriver(failover: ReplicaFailover): new (config: Configuration) => PostgreSqlDriver {
  class ReplicaConnection extends PostgreSqlConnection {
    override async execute(...args: ExecuteArguments): Promise<never> {
      const [query, params, method, transaction, loggerContext] = args;
      const onPrimary = () => failover.primary().execute(query, params, method, undefined, loggerContext) as Promise<never>;
      if (transaction) return super.execute(...args) as Promise<never>;
      if (failover.isDown()) return onPrimary();
      try {
        return (await super.execute(...args)) as never;
      } catch (error) {
        if (!replicaCannotServe(error)) throw error;
        failover.failed(error);
        return onPrimary();
      }
    }
  }
  return class ReplicaDriver extends PostgreSqlDriver {
    constructor(config: Configuration) {
      super(config);
      (this as unknown as { connection: PostgreSqlConnection }).connection = new ReplicaConnection(this.config);
      failovers.set(this, failover);
    }
  };
}

/** Connection errors of node and pg, and PostgreSQL's connection, shutdown and recovery-conflict codes. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '40001']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Timeout acquiring a connection|Client has encountered a connection error/i;

/** True when the error says the server could not serve the statement, rather than that the statement was wrong. */
export function replicaCannotServe(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = (current as { cause?: unknown }).cause) {
    const code = String((current as { code?: unknown }).code ?? '');
    if (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_MESSAGES.test(current.message)) return true;
    if (current instanceof AggregateError && current.errors.some(replicaCannotServe)) return true;
  }
  return false;
}
