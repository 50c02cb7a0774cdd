import { startReplicatedCluster as start, type ReplicatedCluster } from '../../src/db/streaming-replica';

export type { ReplicatedCluster };

/**
 * A primary and a streaming replica of the test's own. CI's run against the
 * system PostgreSQL sets REPLICA_TEST_PG_BINDIR to its `pg_config --bindir`,
 * so that those binaries (and their pg_basebackup) build the pair.
 */
export function startReplicatedCluster(): Promise<ReplicatedCluster> {
  return start({ binDir: process.env.REPLICA_TEST_PG_BINDIR || undefined });
}
