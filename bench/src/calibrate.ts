import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import { requireDist } from './paths';
import type { ChildServer } from './processes';
import { DOCUMENTS, FLOOR_PATHS, NESTED_POSTS, type RequestKind, type Scenario } from './scenarios';

/** One request as the server ran it: its SQL, read from the server's own SQL log (LOG_LEVEL=trace). */
export interface LoggedRequest {
  kind: RequestKind;
  statements: string[];
  floorStatements: number;
}

export interface PlanSummary {
  scenario: string;
  /** The statement, shortened. */
  sql: string;
  /** Node types and index names in plan order, e.g. "Index Scan using users_live_order_idx on users". */
  nodes: string[];
  indexes: string[];
  seqScans: string[];
  executionMs: number;
  /** A list query of scenario 1, 2, 5 or 6: must use its partial index and no Seq Scan. */
  required: boolean;
  ok: boolean;
}

export interface Calibration {
  /** Per scenario: statements per request in the SQL log (each request kind of the scenario). */
  statements: Record<string, { server: number; floor: number; perKind: Record<string, number> }>;
  /** Scenario 3 with 5 and with 20 users: constant when equal. */
  nested: { users5: number; users20: number };
  /** Reads whose server and floor answers differ (should be none). */
  mismatches: string[];
  plans: PlanSummary[];
}

interface GraphQLAnswer {
  data?: unknown;
  errors?: Array<{ message: string }>;
}

async function post(url: string, body: unknown, authorization?: string): Promise<{ answer: GraphQLAnswer; floorStatements: number }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as GraphQLAnswer;
  if (!response.ok || answer.errors) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  return { answer, floorStatements: Number(response.headers.get('x-floor-statements') ?? NaN) };
}

/** SQL statements in a stretch of the server's pino output (MikroORM logs each as "[query] <sql> [took N ms, M results]"). */
export function loggedStatements(output: string): string[] {
  const statements: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { orm?: string };
    try {
      entry = JSON.parse(line) as { orm?: string };
    } catch {
      continue;
    }
    if (!entry.orm) continue;
    const text = entry.orm.replace(/\u001b\[[0-9;]*m/g, '');
    const match = /\[query\] (.*)$/s.exec(text);
    if (match) statements.push(match[1].replace(/ \[took [^\]]*\]$/s, '').trim());
  }
  return statements;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
}

/** The application's plan walker (`src/db/explain.ts`), shared with the index tests. */
const flatten = (plan: unknown) => requireDist<{ flattenPlan(plan: unknown): PlanNode[] }>('db/explain.js').flattenPlan(plan);

const EXPECTED_INDEXES: Record<string, string[]> = {
  's1-users-page': ['users_live_order_idx'],
  's2-users-deep': ['users_live_order_idx'],
  's5-users-trashed': ['users_trash_order_idx'],
  's6-trash': ['users_trash_order_idx', 'posts_trash_order_idx'],
  // Selective terms go through the trigram indexes; when a term matches many rows, walking the trash order index finds a page sooner.
  's6b-trash-search': ['users_trash_search_idx', 'posts_trash_search_idx', 'users_trash_order_idx', 'posts_trash_order_idx'],
};

/**
 * Sends each scenario's requests once to a server logging its SQL (and once
 * more before, so that nothing lazy is counted), counts the statements, checks
 * that the floor answers the same data, and EXPLAINs (ANALYZE, FORMAT JSON)
 * the SELECTs the server sent.
 */
export async function calibrate(options: {
  traced: ChildServer;
  floor: ChildServer;
  scenarios: Scenario[];
  authorization: string;
  client: pg.Client;
}): Promise<Calibration> {
  const { traced, floor, client } = options;
  const result: Calibration = { statements: {}, nested: { users5: 0, users20: 0 }, mismatches: [], plans: [] };
  const sqlByScenario = new Map<Scenario, string[]>();

  for (const scenario of options.scenarios) {
    const authorization = scenario.admin ? options.authorization : undefined;
    const perKind: Record<string, number> = {};
    let server = 0;
    let floorCount = 0;
    const sql: string[] = [];
    // A rotation of its own per target, so that the writes of one never meet the other's.
    for (const target of ['server', 'floor'] as const) {
      const shared = { next: target === 'server' ? 0 : 1 };
      const connection: { user?: string } = {};
      for (const request of scenario.requests) {
        const body = { query: DOCUMENTS[request.kind], ...(request.variables ? { variables: request.variables(shared, connection) } : {}) };
        if (target === 'server') {
          if (scenario.readOnly) await post(traced.url, body, authorization);
          await settle();
          traced.takeOutput();
          const { answer } = await post(traced.url, body, authorization);
          await settle();
          const statements = loggedStatements(traced.takeOutput());
          perKind[request.kind] = statements.length;
          server += statements.length;
          sql.push(...statements);
          if (scenario.readOnly) {
            const fromFloor = await post(`${floor.url}${FLOOR_PATHS[request.kind]}`, body);
            if (!isDeepStrictEqual(answer.data, fromFloor.answer.data)) {
              result.mismatches.push(`${scenario.key}: server ${JSON.stringify(answer.data).slice(0, 300)} / floor ${JSON.stringify(fromFloor.answer.data).slice(0, 300)}`);
            }
          }
        } else {
          const { floorStatements } = await post(`${floor.url}${FLOOR_PATHS[request.kind]}`, body);
          floorCount += floorStatements;
        }
      }
    }
    const kinds = scenario.requests.length;
    result.statements[scenario.key] = { server: server / kinds, floor: floorCount / kinds, perKind };
    sqlByScenario.set(scenario, sql);
  }

  // Constant statement count for nested connections: 5 users cost what 20 do.
  for (const users of [5, 20] as const) {
    const body = { query: `{ users(first: ${users}) { nodes { posts(first: ${NESTED_POSTS}) { totalCount nodes { title } } } } }` };
    await post(traced.url, body);
    await settle();
    traced.takeOutput();
    await post(traced.url, body);
    await settle();
    result.nested[users === 5 ? 'users5' : 'users20'] = loggedStatements(traced.takeOutput()).length;
  }

  for (const [scenario, statements] of sqlByScenario) {
    if (!scenario.readOnly) continue;
    for (const sql of statements) {
      if (!/^select\b/i.test(sql)) continue;
      const { rows } = await client.query(`explain (analyze, format json) ${sql}`);
      const plan = (rows[0]['QUERY PLAN'] as Array<{ Plan: unknown; 'Execution Time': number }>)[0];
      const nodes = flatten(plan.Plan);
      const expected = EXPECTED_INDEXES[scenario.key];
      const indexes = [...new Set(nodes.map((node) => node['Index Name']).filter((name): name is string => !!name))];
      const seqScans = nodes.filter((node) => node['Node Type'] === 'Seq Scan').map((node) => node['Relation Name'] ?? '?');
      // The list queries are the ones ordered by the keyset; a count(*) of scenario 1b is not one.
      const required = !!expected && /order by/i.test(sql);
      const usesOwnIndex = expected ? expected.some((name) => indexes.includes(name)) : true;
      result.plans.push({
        scenario: scenario.key,
        sql: sql.length > 400 ? `${sql.slice(0, 400)}…` : sql,
        nodes: nodes.map((node) => [node['Node Type'], node['Index Name'] && `using ${node['Index Name']}`, node['Relation Name'] && `on ${node['Relation Name']}`].filter(Boolean).join(' ')),
        indexes,
        seqScans,
        executionMs: plan['Execution Time'],
        required,
        ok: seqScans.length === 0 && usesOwnIndex,
      });
    }
  }
  return result;
}
