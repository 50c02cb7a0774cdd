import type pg from 'pg';

/**
 * Set-based seed: `users` live users named `<prefix>_<n>`, each with
 * `postsPerUser` live posts. Returns the user ids, newest first.
 */
export async function seedUsersWithPosts(sql: pg.Pool, options: { prefix: string; users: number; postsPerUser: number }): Promise<string[]> {
  const { rows } = await sql.query<{ id: string }>(
    `insert into users (id, created_at, updated_at, version, username, email)
     select gen_random_uuid(), now() - make_interval(secs => i), now(), 1, $1 || '_' || i, $1 || '_' || i || '@example.com'
       from generate_series(1, $2::int) as i
     returning id`,
    [options.prefix, options.users],
  );
  await sql.query(
    `insert into posts (id, created_at, updated_at, version, author_id, title, body)
     select gen_random_uuid(), now() - make_interval(secs => p), now(), 1, u.id, 'post ' || p, 'body of post ' || p
       from unnest($1::uuid[]) as u(id) cross join generate_series(1, $2::int) as p`,
    [rows.map((row) => row.id), options.postsPerUser],
  );
  return rows.map((row) => row.id);
}
