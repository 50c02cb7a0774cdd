import type { Calibration } from './calibrate';
import type { LoadResult } from './load';
import type { AllocationSummary } from './allocations';
import type { HeapSummary } from './heap-snapshot';
import type { ProfileSummary } from './profile';

/** What a benchmark run records in results.json, and what the report reads. */

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

export type Targets = Record<string, TargetCheck>;

export interface Measurement extends LoadResult {
  round: number;
  /** SQL statements per request from pg_stat_statements (calls in the bench database / requests); null when unavailable. */
  statementsPerRequest: number | null;
  /** Highest RSS sampled during the measurement, MB. */
  rssMb: number;
  /** CPU time of the target's process per request (user + system), ms; PostgreSQL's time is not included. */
  cpuMsPerRequest: number | null;
  /**
   * CPU time of the database server per request (all its processes: backends, background workers), ms;
   * null when it does not run on this machine. It shares the cores with the target, so it bounds throughput too.
   * Optional: runs recorded before it was measured lack it.
   */
  databaseCpuMsPerRequest?: number | null;
  /** Promises the server created per request (`--count-promises`; server only). */
  promisesPerRequest?: number;
  /** The statements pg_stat_statements saw most often during the measurement. */
  topStatements?: Array<{ calls: number; query: string }>;
}

export interface TargetSummary {
  rps: number;
  cpuMsPerRequest: number | null;
  databaseCpuMsPerRequest?: number | null;
  /** Median of the rounds' promises per request (`--count-promises`; server only). */
  promisesPerRequest?: number;
  p50: number;
  p99: number;
  statementsPerRequest: number | null;
  /** Statements of one request in the SQL log (server) or counted by the floor. */
  statementsLogged: number;
  rssMb: number;
  errors: number;
  rounds: Measurement[];
}

export interface ScenarioResult {
  key: string;
  title: string;
  server: TargetSummary;
  floor: TargetSummary;
  /** Median over rounds of server rps / floor rps (each round's pair measured back to back). */
  ratio: number;
  ratios: number[];
}

export interface PurgeResult {
  usersPerRound: number;
  rowsPerRound: number;
  server: { rowsPerSecond: number; seconds: number[]; removed: number[]; batches: number[] };
  floor: { rowsPerSecond: number; seconds: number[]; removed: number[] };
  ratio: number;
}

export interface BenchRun {
  date: string;
  machine: { cpu: string; cores: number; memoryGb: number; os: string; node: string; postgres: string; postgresSource: string };
  options: { scale: number; trashed: number; duration: number; warmup: number; rounds: number; connections: number; purgeBatchSize: number };
  dataset: { users: number; trashedUsers: number; posts: number; reused: boolean; seedSeconds: number; seededAt: string; deepCursorDepth: number };
  statementCounting: 'pg_stat_statements' | 'sql-log only';
  scenarios: ScenarioResult[];
  purge?: PurgeResult;
  /** peakRssMbByRound: the highest RSS sampled during each round's server measurements, in round order. */
  server: { peakRssMb: number; floorPeakRssMb: number; peakRssMbByRound: number[] };
  calibration: Calibration;
  explain: Calibration['plans'];
  targets: Targets;
  profile?: ProfileSummary;
  /** With --heap-snapshot: the live heap of the server after each round. */
  heapSnapshots?: HeapSummary[];
  /** With --alloc-profile: where the server allocated, and how much per request (warm-ups included). */
  allocations?: AllocationSummary & { kbPerRequest: number };
}
