import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedUsersWithPosts } from './helpers/seed';
import { createStatementCounter } from './helpers/sql-counter';
import { startTestServer, type TestServer } from './helpers/test-server';

const counter = createStatementCounter();
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ logger: counter.logger });
  await seedUsersWithPosts(server.sql, { prefix: 'reader', users: 60, postsPerUser: 7 });
});
afterAll(() => server?.stop());

async function statementsFor(query: string, variables?: Record<string, unknown>): Promise<string[]> {
  counter.reset();
  const response = await server.gql(query, variables);
  expect(response.errors).toBeUndefined();
  return counter.statements();
}

/** Documented in the README: the users page with every user's posts page and count, in one statement; the authors are those users. */
const NESTED_LIST_STATEMENTS = 1;

describe('totalCount', () => {
  // A count is a COUNT, or a read of the maintained row counts: a statement of its own, or part of the one statement of a rendered read.
  const countsOf = (statements: string[]) => statements.flatMap((statement) => statement.match(/select count\(|from "row_counts"/gi) ?? []);

  it('identical counts within one request run once: 15 aliases of users(first: 1) { totalCount } run one count', async () => {
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: users(first: 1) { totalCount }`).join(' ');
    counter.reset();
    const response = await server.gql(`{ ${aliases} }`);
    expect(response.errors).toBeUndefined();
    expect(new Set(Object.values(response.data).map((page: any) => page.totalCount)).size).toBe(1);
    expect(countsOf(counter.statements())).toHaveLength(1);
  });

  it('different counts still run each: live and trashed users, and posts, run three counts', async () => {
    counter.reset();
    const response = await server.gql('{ a: users(first: 1) { totalCount } b: users(first: 1, onlyDeleted: true) { totalCount } c: posts(first: 1) { totalCount } d: posts { totalCount } }');
    expect(response.errors).toBeUndefined();
    expect(countsOf(counter.statements())).toHaveLength(3);
  });

  it('is not remembered across requests', async () => {
    await server.gql('{ users(first: 1) { totalCount } }');
    counter.reset();
    await server.gql('{ users(first: 1) { totalCount } }');
    expect(countsOf(counter.statements())).toHaveLength(1);
  });
});

describe('no N+1: nested connections cost a constant number of statements', () => {
  const nested = `query($first: Int!) {
    users(first: $first) { nodes { id posts(first: 5) { totalCount nodes { id author { username } } } } }
  }`;

  it(`users { posts { totalCount nodes { author } } } runs ${NESTED_LIST_STATEMENTS} statements for 5 users and for 50`, async () => {
    const few = await statementsFor(nested, { first: 5 });
    const many = await statementsFor(nested, { first: 50 });
    expect(few).toHaveLength(NESTED_LIST_STATEMENTS);
    expect(many).toHaveLength(NESTED_LIST_STATEMENTS);
  });

  it('each user gets its own five newest posts and its own count', async () => {
    const response = await server.gql(nested, { first: 50 });
    for (const user of response.data.users.nodes) {
      expect(user.posts.totalCount).toBe(7);
      expect(user.posts.nodes).toHaveLength(5);
    }
    const [first] = response.data.users.nodes;
    const own = await server.sql.query(`select id from posts where author_id = $1 order by created_at desc, id desc limit 5`, [first.id]);
    expect(first.posts.nodes.map((post: { id: string }) => post.id)).toEqual(own.rows.map((row) => row.id));
  });

  it('totalCount of an unrestricted listing reads the maintained row counts, never a count over the table', async () => {
    for (const query of [
      '{ users(first: 1) { totalCount } }',
      '{ users(first: 1, onlyDeleted: true) { totalCount } }',
      '{ posts(first: 1, includeDeleted: true) { totalCount } }',
      '{ users(first: 5) { nodes { posts(first: 1) { totalCount } } } }',
      '{ trash(first: 1) { totalCount } }',
    ]) {
      const statements = await statementsFor(query);
      expect(statements.join('\n'), query).not.toMatch(/count\(/i);
      expect(statements.some((statement) => statement.includes('"row_counts"')), query).toBe(true);
    }
  });

  it('a list without totalCount does not count', async () => {
    const statements = await statementsFor('{ users(first: 20) { nodes { id } } }');
    expect(statements).toHaveLength(1);
    expect(statements.join('\n')).not.toMatch(/count\(/i);
  });
});

describe('cascading delete, restore and purge run a constant number of statements', () => {
  async function cascadeStatements(postsPerUser: number) {
    const [userId] = await seedUsersWithPosts(server.sql, { prefix: `cascade${postsPerUser}`, users: 1, postsPerUser });
    const remove = await statementsFor(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: userId });
    const restore = await statementsFor(`mutation($id: ID!) { restoreUser(id: $id) { id } }`, { id: userId });
    await statementsFor(`mutation($id: ID!) { deleteUser(id: $id) { id } }`, { id: userId });
    const purge = await statementsFor(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: userId });
    const left = await server.sql.query(`select count(*)::int as n from posts where author_id = $1`, [userId]);
    expect(left.rows[0].n).toBe(0);
    // The change's own statements; the live trash event is published after the commit, on a connection of its own.
    const own = (statements: string[]) => statements.filter((statement) => !isTrashEvent(statement)).length;
    const events = (statements: string[]) => statements.filter(isTrashEvent).length;
    return { remove: own(remove), restore: own(restore), purge: own(purge), events: [events(remove), events(restore), events(purge)] };
  }

  const isTrashEvent = (statement: string) => statement.startsWith('select pg_notify(');

  it('the same for a user with 1,000 posts as for a user with 2', async () => {
    const small = await cascadeStatements(2);
    const large = await cascadeStatements(1000);
    expect(large).toEqual(small);
    // A move to the trash: begin, lock, one statement (every table's UPDATE and the audit event), commit.
    // A restore also looks for live clashes on every unique key (username, email), in one statement.
    expect(small.remove).toBe(4);
    expect(small.restore).toBe(5);
    // A purge: begin, lock, one statement (one DELETE per table, renames cleared from the trail, the audit event), commit.
    expect(small.purge).toBe(4);
    // Each change's trash event is in the SQL log too: one NOTIFY.
    expect(small.events).toEqual([1, 1, 1]);
  });
});
