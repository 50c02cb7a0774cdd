import { SingleBar, Presets } from 'cli-progress';
import type pg from 'pg';

/** Bumped whenever the generated data changes, so an older dataset is re-seeded rather than reused. */
export const SEED_VERSION = 3;
export const POSTS_PER_USER = 5;
/** Seconds between two users' creation times: a million users span about a year. */
const USER_SPACING_SECONDS = 30;

export interface DatasetSpec {
  scale: number;
  trashed: number;
}

export interface DatasetMarker extends DatasetSpec {
  postsPerUser: number;
  seedVersion: number;
  /** Every generated timestamp is this instant plus or minus whole seconds (so cursors round-trip exactly). */
  base: Date;
  seededAt: Date;
  seedSeconds: number;
}

/** Users trashed by the share: user i is trashed when floor(i*s) steps up, which spreads them evenly. */
export function expectedTrashedUsers(spec: DatasetSpec): number {
  return Math.floor(spec.scale * spec.trashed + 1e-9);
}

/**
 * A UUIDv7-shaped id from an instant and a seed text: the 48-bit millisecond
 * timestamp first (so ids sort by creation time and the primary-key index
 * stays append-only, as the server's own UUIDv7 ids do), then 74 bits of
 * md5(seed). Deterministic, so a purged part of the dataset can be re-seeded
 * with exactly the same ids. Bits follow set_bit's numbering (LSB first):
 * version nibble 0111 in byte 6, variant 10 in byte 8.
 */
const UUID7_FUNCTION = `
create or replace function bench_uuid7(ts timestamptz, seed text) returns uuid
language sql immutable parallel safe as $$
  select encode(
    set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(
      overlay(decode(md5(seed), 'hex') placing substring(int8send(floor(extract(epoch from ts) * 1000)::bigint) from 3) from 1 for 6),
      55, 0), 54, 1), 53, 1), 52, 1), 71, 1), 70, 0),
    'hex')::uuid
$$`;

/**
 * The users of a set of indexes i (a range, or a list), derived from i alone:
 * $1 base, $2 trashed share, then the source's own parameters.
 * Trashed users were deleted within the 20 days before base (so purgeAt,
 * deletedAt + 30 days, lies ahead), never before they were created.
 */
function userRows(source: string): string {
  return `
    src as (${source}),
    u as (
      select i, $1::timestamptz - make_interval(secs => i::bigint * ${USER_SPACING_SECONDS}) as created_at,
             floor(i * $2::numeric) > floor((i - 1) * $2::numeric) as trashed
        from src
    ),
    t as (
      select u.*, bench_uuid7(u.created_at, 'user:' || i) as user_id,
             case when trashed then greatest(created_at + interval '1 hour', $1::timestamptz - make_interval(secs => (i::bigint * 7919) % 1728000)) end as deleted_at
        from u
    )`;
}

const RANGE_SOURCE = 'select i from generate_series($3::int, $4::int) as g(i)';
const LIST_SOURCE = 'select unnest($3::int[]) as i';

function insertUsers(source: string): string {
  return `
    with ${userRows(source)}
    insert into users (id, created_at, updated_at, version, deleted_at, deleted_by, delete_reason, deletion_id, purge_at, username, email, display_name)
    select user_id, created_at, coalesce(deleted_at, created_at), case when trashed then 2 else 1 end,
           deleted_at, null, null, case when trashed then bench_uuid7(deleted_at, 'deletion:' || i) end, deleted_at + interval '30 days',
           'user_' || i, 'user_' || i || '@example.com', 'User ' || i
      from t
     order by created_at`;
}

/**
 * Each user's posts, k = 1..N, created k minutes after the user. A mix:
 * posts of a trashed user went to the trash with it (its deletion id,
 * deletedAt and purgeAt); for every fifth user the last post was trashed
 * alone, under a deletion id of its own (before its author's deletion when the
 * author is trashed too); the rest are live.
 */
function insertPosts(source: string, postsPerUserParameter: string): string {
  return `
    with ${userRows(source)},
    p as (
      select t.i, k, t.trashed, t.user_id, t.deleted_at as author_deleted_at,
             t.created_at + make_interval(mins => k) as created_at,
             (t.i % 5 = 0 and k = ${postsPerUserParameter}::int) as alone
        from t cross join generate_series(1, ${postsPerUserParameter}::int) as k
    ),
    q as (
      select p.*,
             case
               when alone and trashed then author_deleted_at - interval '1 minute'
               when alone then greatest(created_at + interval '30 minutes', $1::timestamptz - make_interval(secs => (i::bigint * 104729 + k) % 1728000))
               when trashed then author_deleted_at
             end as deleted_at
        from p
    )
    insert into posts (id, created_at, updated_at, version, deleted_at, deleted_by, delete_reason, deletion_id, purge_at, author_id, title, body)
    select bench_uuid7(created_at, 'post:' || i || ':' || k), created_at, coalesce(deleted_at, created_at), case when deleted_at is null then 1 else 2 end,
           deleted_at, null, null,
           case when alone then bench_uuid7(deleted_at, 'deletion:' || i || ':' || k) when trashed then bench_uuid7(author_deleted_at, 'deletion:' || i) end,
           deleted_at + interval '30 days',
           user_id, 'Post ' || k || ' by user_' || i,
           'Body of post ' || k || ' by user_' || i || '. ' || repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 3)
      from q
     order by created_at`;
}

export async function readMarker(client: pg.Client): Promise<DatasetMarker | undefined> {
  const exists = await client.query(`select 1 from pg_tables where schemaname = current_schema() and tablename = 'bench_dataset'`);
  if (exists.rowCount === 0) return undefined;
  const { rows } = await client.query('select * from bench_dataset limit 1');
  const row = rows[0];
  if (!row) return undefined;
  return {
    scale: Number(row.scale),
    trashed: Number(row.trashed),
    postsPerUser: Number(row.posts_per_user),
    seedVersion: Number(row.seed_version),
    base: row.base,
    seededAt: row.seeded_at,
    seedSeconds: Number(row.seed_seconds),
  };
}

export function markerMatches(marker: DatasetMarker | undefined, spec: DatasetSpec): marker is DatasetMarker {
  return (
    marker !== undefined &&
    marker.scale === spec.scale &&
    Math.abs(marker.trashed - spec.trashed) < 1e-9 &&
    marker.postsPerUser === POSTS_PER_USER &&
    marker.seedVersion === SEED_VERSION
  );
}

/** Takes the users the write scenario trashed after seeding back out of the trash, with exactly their deletion's posts. */
export async function restoreBenchDeletions(client: pg.Client, marker: DatasetMarker): Promise<number> {
  await client.query(
    `update posts p set deleted_at = null, deleted_by = null, delete_reason = null, deletion_id = null, purge_at = null, version = p.version + 1, updated_at = now()
       from users u where u.deleted_at > $1 and p.deletion_id = u.deletion_id and p.deleted_at is not null`,
    [marker.seededAt],
  );
  const restored = await client.query(
    `update users set deleted_at = null, deleted_by = null, delete_reason = null, deletion_id = null, purge_at = null, version = version + 1, updated_at = now()
      where deleted_at > $1`,
    [marker.seededAt],
  );
  return restored.rowCount ?? 0;
}

/**
 * Undoes what an interrupted run may have left: users the write scenario
 * trashed after seeding, and the audit events of writes and purges. Returns
 * whether the dataset then holds exactly what was seeded (else it must be
 * seeded again).
 */
export async function repairDataset(client: pg.Client, marker: DatasetMarker): Promise<boolean> {
  await restoreBenchDeletions(client, marker);
  await client.query('truncate audit_events');
  const { rows } = await client.query<{ users: string; live: string; posts: string }>(
    `select (select count(*) from users) as users, (select count(*) from users where deleted_at is null) as live, (select count(*) from posts) as posts`,
  );
  const [counts] = rows;
  return (
    Number(counts.users) === marker.scale &&
    Number(counts.live) === marker.scale - expectedTrashedUsers(marker) &&
    Number(counts.posts) === marker.scale * marker.postsPerUser
  );
}

function progressBar(enabled: boolean, phase: string, total: number): { update(value: number): void; stop(): void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new SingleBar(
    { format: `${phase.padEnd(22)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} elapsed, ETA {eta_formatted}`, stream: process.stderr, hideCursor: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (value) => bar.update(value), stop: () => bar.stop() };
}

/**
 * Fills a freshly migrated database with set-based SQL (generate_series, one
 * INSERT per chunk of users, never one per row). Secondary indexes are
 * dropped during the load and rebuilt from their own definitions afterwards,
 * foreign-key triggers are skipped (the data is correct by construction),
 * then VACUUM ANALYZE, then the marker row that lets later runs reuse it.
 */
export async function seedDataset(client: pg.Client, spec: DatasetSpec, options: { progress: boolean; log: (line: string) => void }): Promise<DatasetMarker> {
  const started = Date.now();
  await client.query(UUID7_FUNCTION);
  const { rows: baseRows } = await client.query<{ base: Date }>(`select date_trunc('second', now()) - interval '1 day' as base`);
  const base = baseRows[0].base;
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes
      where schemaname = current_schema() and tablename in ('users', 'posts')
        and indexname not in (select conname from pg_constraint where contype in ('p', 'u'))
      order by tablename desc, indexname`,
  );
  for (const index of indexes) await client.query(`drop index "${index.indexname}"`);
  try {
    await client.query(`set session_replication_role = replica`);
  } catch {
    options.log('not a superuser: foreign-key checks stay on during the load (slower)');
  }
  await client.query(`set synchronous_commit = off`);

  const userChunk = 50_000;
  const users = progressBar(options.progress, 'users', spec.scale);
  // Oldest first (highest i), so that ids and created_at both ascend as rows are appended.
  for (let high = spec.scale; high >= 1; high -= userChunk) {
    const low = Math.max(1, high - userChunk + 1);
    await client.query(insertUsers(RANGE_SOURCE), [base, spec.trashed, low, high]);
    users.update(spec.scale - low + 1);
  }
  users.stop();
  const postChunk = 20_000;
  const posts = progressBar(options.progress, 'posts', spec.scale * POSTS_PER_USER);
  for (let high = spec.scale; high >= 1; high -= postChunk) {
    const low = Math.max(1, high - postChunk + 1);
    await client.query(insertPosts(RANGE_SOURCE, '$5'), [base, spec.trashed, low, high, POSTS_PER_USER]);
    posts.update((spec.scale - low + 1) * POSTS_PER_USER);
  }
  posts.stop();
  await client.query(`reset session_replication_role`).catch(() => undefined);
  // The load bypassed the triggers that keep row counts: count once, from the rows themselves.
  await client.query(`select row_counts_rebuild()`);

  await client.query(`set maintenance_work_mem = '512MB'`);
  const rebuild = progressBar(options.progress, 'indexes', indexes.length);
  for (const [n, index] of indexes.entries()) {
    await client.query(index.indexdef);
    rebuild.update(n + 1);
  }
  rebuild.stop();
  const vacuum = progressBar(options.progress, 'vacuum analyze', 3);
  let step = 0;
  for (const table of ['users', 'posts', 'audit_events']) {
    await client.query(`vacuum analyze ${table}`);
    vacuum.update(++step);
  }
  vacuum.stop();

  const marker: DatasetMarker = {
    ...spec,
    postsPerUser: POSTS_PER_USER,
    seedVersion: SEED_VERSION,
    base,
    seededAt: new Date(),
    seedSeconds: (Date.now() - started) / 1000,
  };
  await client.query(`create table if not exists bench_dataset (
      scale int not null, trashed numeric not null, posts_per_user int not null, seed_version int not null,
      base timestamptz not null, seeded_at timestamptz not null, seed_seconds double precision not null)`);
  await client.query('truncate bench_dataset');
  await client.query(`insert into bench_dataset values ($1, $2, $3, $4, $5, $6, $7)`, [
    marker.scale,
    marker.trashed,
    marker.postsPerUser,
    marker.seedVersion,
    marker.base,
    marker.seededAt,
    marker.seedSeconds,
  ]);
  return marker;
}

/** Re-inserts users (and their posts) by index, exactly as seeded: what puts a purged part of the dataset back. */
export async function reseedUsers(client: pg.Client, marker: DatasetMarker, indexes: number[]): Promise<void> {
  if (indexes.length === 0) return;
  await client.query(insertUsers(LIST_SOURCE), [marker.base, marker.trashed, indexes]);
  await client.query(insertPosts(LIST_SOURCE, '$4'), [marker.base, marker.trashed, indexes, marker.postsPerUser]);
}
