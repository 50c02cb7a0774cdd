import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import pino from 'pino';
import { systemAccess } from '../auth/access';
import { ConfigError, loadConfig, type TrashSettings } from '../config';
import { openDatabase } from '../db/database';
import { ormOptions } from '../orm';
import { USERNAME_PATTERN } from '../modules/user/user.inputs';
import type { Services } from '../request-context';
import { createServices } from '../services';
import type { ServiceContext } from '../service-context';
import { parseFlags } from './arguments';

/** The database already holds users and `--force` was not given. */
export class SeedRefusedError extends Error {
  override name = 'SeedRefusedError';
}

export interface SeedResult {
  /** What this run did. */
  created: { users: number; posts: number };
  updated: { users: number; posts: number };
  trashed: { users: number; postsAlone: number; postsWithTheirAuthor: number };
  restored: { users: number; posts: number };
  /** What the whole database holds afterwards (earlier runs included). */
  database: { users: number; trashedUsers: number; posts: number; trashedPosts: number; auditEvents: number };
}

const USAGE = 'usage: npm run seed [-- --force]';

/**
 * `npm run seed [-- --force]`: fills the database with demo users and posts,
 * some of them in the trash (alone or with their author) and some restored.
 * Everything goes through the application's services, as the system
 * principal, so versions, deletion ids, purge dates and the audit trail are
 * exactly what the API would have written. Refuses a database that already
 * has users unless `--force`.
 */
export async function runSeedCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<SeedResult> {
  const { force } = parseFlags(argv, { force: { type: 'boolean', default: false } }, USAGE);
  const config = loadConfig(env);
  const logger = pino({ level: config.logLevel });
  const database = await openDatabase(config, logger, ormOptions, { shareRunningCluster: true });
  try {
    const existing = await countRows(database.orm, 'users');
    if (existing > 0 && !force) {
      throw new SeedRefusedError(
        `Refusing to seed: the database already has ${existing} user(s). Run \`npm run seed -- --force\` to add the demo data anyway.`,
      );
    }
    const suffix = existing > 0 ? await freeSuffix(database.orm, existing) : '';
    const result = await seed(database.orm, config.trash, suffix);
    logger.info(result, 'seeded demo data');
    return result;
  } finally {
    await database.close();
  }
}

async function seed(orm: MikroORM, trash: TrashSettings, suffix: string): Promise<SeedResult> {
  /** Each step on a fresh EntityManager fork, as each API request would be. */
  const act = <R>(work: (services: Services) => Promise<R>): Promise<R> => {
    const em = orm.em.fork();
    const context: ServiceContext = { em, clock: () => new Date(), access: systemAccess(em), trash };
    return work(createServices(context));
  };

  const users: Array<{ id: string; posts: string[] }> = [];
  for (const [index, [name, displayName]] of PEOPLE.entries()) {
    const username = `${name}${suffix}`;
    if (!USERNAME_PATTERN.test(username)) throw new Error(`seed username ${username} is not valid`);
    const user = await act((s) =>
      s.users.create({ username, email: `${username}@example.com`, displayName: index % 7 === 6 ? null : displayName }),
    );
    users.push({ id: user.id, posts: [] });
  }
  let postCount = 0;
  for (const [index, user] of users.entries()) {
    for (let k = 0; k < POSTS_PER_USER[index % POSTS_PER_USER.length]; k++) {
      const title = TITLES[(index * 3 + k) % TITLES.length];
      const body = BODIES[(index + k) % BODIES.length];
      const post = await act((s) => s.posts.create({ authorId: user.id, title, body }));
      user.posts.push(post.id);
      postCount++;
    }
  }

  // A few edits, so the audit trail has updates and versions are not all 1.
  for (const [index, displayName] of RENAMES) await act((s) => s.users.update(users[index].id, { displayName }));
  for (const [index, title] of RETITLES) await act((s) => s.posts.update(users[index].posts[0], { title }));

  // Posts moved to the trash on their own, by moderation.
  let postsAlone = 0;
  for (const [index, k, reason] of POSTS_TRASHED_ALONE) {
    await act((s) => s.posts.delete(users[index].posts[k], reason));
    postsAlone++;
  }

  // Users moved to the trash, taking their live posts with them (one deletion id each).
  let postsWithTheirAuthor = 0;
  for (const [index, reason] of USERS_TRASHED) {
    await act((s) => s.users.delete(users[index].id, reason));
    postsWithTheirAuthor += await countRows(orm, 'posts', 'deletion_id = (select deletion_id from users where id = ?)', [users[index].id]);
  }

  // Trashed by mistake and brought back: the user with exactly the posts its deletion took.
  for (const [index, reason] of USERS_RESTORED) {
    await act((s) => s.users.delete(users[index].id, reason));
    await act((s) => s.users.restore(users[index].id));
  }
  for (const [index, k, reason] of POSTS_RESTORED) {
    await act((s) => s.posts.delete(users[index].posts[k], reason));
    await act((s) => s.posts.restore(users[index].posts[k]));
  }

  return {
    created: { users: users.length, posts: postCount },
    updated: { users: RENAMES.length, posts: RETITLES.length },
    trashed: { users: USERS_TRASHED.length, postsAlone, postsWithTheirAuthor },
    restored: { users: USERS_RESTORED.length, posts: POSTS_RESTORED.length },
    database: {
      users: await countRows(orm, 'users'),
      trashedUsers: await countRows(orm, 'users', 'deleted_at is not null'),
      posts: await countRows(orm, 'posts'),
      trashedPosts: await countRows(orm, 'posts', 'deleted_at is not null'),
      auditEvents: await countRows(orm, 'audit_events'),
    },
  };
}

/**
 * On a database that has users, the demo usernames get a suffix (`.36`, from
 * the user count, or the next number free) so that they clash neither with an
 * earlier run's users nor with anyone else's, live or trashed.
 */
async function freeSuffix(orm: MikroORM, start: number): Promise<string> {
  for (let n = start; ; n++) {
    const names = PEOPLE.map(([name]) => `${name}.${n}`.toLowerCase());
    if ((await countRows(orm, 'users', 'lower(username) in (?)', [names])) === 0) return `.${n}`;
  }
}

/** Rows of a table in every state, trashed included (plain SQL: no soft-delete filter). */
async function countRows(orm: MikroORM, table: 'users' | 'posts' | 'audit_events', where = 'true', params: unknown[] = []): Promise<number> {
  const [row] = await orm.em.getConnection().execute<Array<{ n: number }>>(`select count(*)::int as n from "${table}" where ${where}`, params);
  return row.n;
}

// ---- The demo content: fixed, so every run on an empty database produces the same data (ids and times aside).

/** Usernames and display names; every seventh user has no display name. */
const PEOPLE: ReadonlyArray<readonly [string, string]> = [
  ['ada.lovelace', 'Ada Lovelace'],
  ['alan.turing', 'Alan Turing'],
  ['grace.hopper', 'Grace Hopper'],
  ['edsger.dijkstra', 'Edsger W. Dijkstra'],
  ['barbara.liskov', 'Barbara Liskov'],
  ['donald.knuth', 'Donald Knuth'],
  ['margaret.hamilton', 'Margaret Hamilton'],
  ['ken.thompson', 'Ken Thompson'],
  ['dennis.ritchie', 'Dennis Ritchie'],
  ['frances.allen', 'Frances Allen'],
  ['john.backus', 'John Backus'],
  ['radia.perlman', 'Radia Perlman'],
  ['tony.hoare', 'Tony Hoare'],
  ['adele.goldberg', 'Adele Goldberg'],
  ['niklaus.wirth', 'Niklaus Wirth'],
  ['karen.sparck-jones', 'Karen Spärck Jones'],
  ['leslie.lamport', 'Leslie Lamport'],
  ['shafi.goldwasser', 'Shafi Goldwasser'],
  ['john.mccarthy', 'John McCarthy'],
  ['jean.sammet', 'Jean E. Sammet'],
  ['alan.kay', 'Alan Kay'],
  ['lynn.conway', 'Lynn Conway'],
  ['vint.cerf', 'Vint Cerf'],
  ['hedy.lamarr', 'Hedy Lamarr'],
  ['tim.berners-lee', 'Tim Berners-Lee'],
  ['sophie.wilson', 'Sophie Wilson'],
  ['bjarne.stroustrup', 'Bjarne Stroustrup'],
  ['annie.easley', 'Annie Easley'],
  ['guido.van.rossum', 'Guido van Rossum'],
  ['katherine.johnson', 'Katherine Johnson'],
  ['linus.torvalds', 'Linus Torvalds'],
  ['mary.keller', 'Mary Kenneth Keller'],
  ['ole-johan.dahl', 'Ole-Johan Dahl'],
  ['kristen.nygaard', 'Kristen Nygaard'],
  ['evelyn.granville', 'Evelyn Boyd Granville'],
  ['robin.milner', 'Robin Milner'],
];

/** Posts per user, by position: 2, 0, 1, 3, 2, 0, 1, 3, ... (54 for 36 users). */
const POSTS_PER_USER = [2, 0, 1, 3] as const;

const TITLES = [
  'Notes on structured programming',
  'Why I still write my tests first',
  'A gentle introduction to keyset pagination',
  'What soft deletes taught us about uniqueness',
  'Reading list for the winter',
  'Postmortem: the Tuesday outage',
  'How we review pull requests',
  'The case for boring technology',
  'Designing APIs that are hard to misuse',
  'On naming things',
  'Ten years of the same text editor',
  'Migrating without downtime',
  'Small tools, sharp edges',
  'Office hours: what people asked this week',
  'A checklist for releasing on Fridays (do not)',
  'Lessons from teaching recursion',
  'Measuring what matters in code review',
  'Weekend project: a tiny interpreter',
];

const BODIES = [
  'I have been meaning to write this down for a while. The short version: make the common case fast and the rare case correct, and measure before you believe either.',
  'We tried three approaches before settling on this one. The first was too clever, the second too slow, and the third is the one we can explain to a new colleague in five minutes.',
  'Most of the problems we hit were not technical at all. They were about agreeing on what "done" means, and writing that down before starting.',
  'Here is the checklist we use now. It is short on purpose: every item on it is there because we once shipped without it and regretted it.',
  'A colleague asked why we do it this way, and I realised I did not have a good answer. This post is my attempt at one, with the trade-offs we accepted along the way.',
  'The numbers surprised us. After a week of measurements the slow path turned out to be the network, not the database, and the fix was a single index.',
  'Some history first, because the design only makes sense in the light of the constraints we had at the time, several of which no longer apply.',
];

/** [user index, new display name] */
const RENAMES: ReadonlyArray<readonly [number, string]> = [
  [2, 'Rear Admiral Grace Hopper'],
  [16, 'Leslie B. Lamport'],
  [30, 'Linus B. Torvalds'],
];

/** [user index (with at least one post), new title of its first post] */
const RETITLES: ReadonlyArray<readonly [number, string]> = [
  [0, 'Notes on structured programming (revised)'],
  [7, 'Postmortem: the Tuesday outage, updated with the root cause'],
  [22, 'Designing APIs that are hard to misuse, part 1'],
];

/** [user index, post position, reason]: posts trashed on their own; their authors stay live, except user 19's. */
const POSTS_TRASHED_ALONE: ReadonlyArray<readonly [number, number, string]> = [
  [4, 1, 'Off-topic for this forum'],
  [10, 0, 'Duplicate of an earlier post'],
  [12, 1, 'Contains personal data'],
  [20, 0, 'Spam link'],
  [24, 0, 'The author asked for it to be taken down'],
  [19, 2, 'Outdated: superseded by a newer post'],
];

/** [user index, reason]: users trashed with their live posts. User 19 lost a post to moderation before. */
const USERS_TRASHED: ReadonlyArray<readonly [number, string]> = [
  [3, 'Account closed at the user’s request'],
  [8, 'Spam account'],
  [9, 'Inactive for over two years'],
  [14, 'Duplicate account'],
  [19, 'Account closed at the user’s request'],
];

/** [user index, reason]: users trashed and then restored with their posts. */
const USERS_RESTORED: ReadonlyArray<readonly [number, string]> = [[11, 'Suspected spam (false alarm)']];

/** [user index, post position, reason]: posts trashed and then restored. */
const POSTS_RESTORED: ReadonlyArray<readonly [number, number, string]> = [
  [15, 2, 'Moderation mistake'],
  [27, 0, 'Reported as off-topic'],
];

if (require.main === module) {
  runSeedCommand(process.argv.slice(2)).then(
    (result) => console.log(JSON.stringify(result)),
    (error) => {
      console.error(error instanceof ConfigError || error instanceof SeedRefusedError ? error.message : error);
      process.exit(1);
    },
  );
}
