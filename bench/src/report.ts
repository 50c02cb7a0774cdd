import type { BenchRun, ScenarioResult, Targets } from './results';

/** Server/floor throughput each scenario must reach (the performance issue's table). */
const RATIO_TARGETS: Record<string, number> = {
  's1-users-page': 0.5,
  's2-users-deep': 0.5,
  's4-user-by-id': 0.5,
  's5-users-trashed': 0.5,
  's6-trash': 0.5,
  's3-users-posts': 0.5,
  's7-delete-restore': 0.5,
};

/** `totalCount` of a page may cost at most this much of the page's own p50. */
const TOTAL_COUNT_P50_FACTOR = 1.3;

const RSS_LIMIT_MB = 200;
/** RSS may settle a little after the first round (lazy compilation, caches filling); more than this is growth. */
const RSS_GROWTH_MB = 10;

function scenario(run: BenchRun, key: string): ScenarioResult | undefined {
  return run.scenarios.find((s) => s.key === key);
}

/** The issue's targets, each with what was measured and whether it was met (null: not measured in this run). */
export function evaluateTargets(run: BenchRun): Targets {
  const targets: Targets = {};
  for (const [key, minimum] of Object.entries(RATIO_TARGETS)) {
    const result = scenario(run, key);
    targets[`ratio ${key}`] = {
      target: `server/floor throughput >= ${minimum}`,
      measured: result ? `${result.ratio.toFixed(2)} (rounds: ${result.ratios.map((r) => r.toFixed(2)).join(', ')})` : 'not run',
      met: result ? result.ratio >= minimum : null,
    };
  }
  const s1 = scenario(run, 's1-users-page');
  const s1b = scenario(run, 's1b-users-page-total');
  const s2 = scenario(run, 's2-users-deep');
  targets['deep page p50'] = {
    target: 'scenario 2 p50 <= 1.5 x scenario 1 p50 (server)',
    measured: s1 && s2 ? `${s2.server.p50.toFixed(2)} ms vs ${s1.server.p50.toFixed(2)} ms (x${(s2.server.p50 / s1.server.p50).toFixed(2)})` : 'not run',
    met: s1 && s2 ? s2.server.p50 <= 1.5 * s1.server.p50 : null,
  };
  targets['totalCount cost'] = {
    target: `users page with totalCount: p50 <= ${TOTAL_COUNT_P50_FACTOR} x the page's p50 without it (server)`,
    measured:
      s1 && s1b
        ? `p50 ${s1b.server.p50.toFixed(2)} vs ${s1.server.p50.toFixed(2)} ms, ${s1b.server.rps.toFixed(0)} vs ${s1.server.rps.toFixed(0)} req/s`
        : 'not run',
    met: s1 && s1b ? s1b.server.p50 <= TOTAL_COUNT_P50_FACTOR * s1.server.p50 : null,
  };
  const s3 = scenario(run, 's3-users-posts');
  targets['nested in one statement'] = {
    target: 's3 users { posts { totalCount nodes } } in 1 statement (SQL log)',
    measured: s3 ? `${s3.server.statementsLogged} statement(s)` : 'not run',
    met: s3 ? s3.server.statementsLogged === 1 : null,
  };
  targets['server RSS'] = {
    target: `peak RSS of the server process < ${RSS_LIMIT_MB} MB`,
    measured: `${run.server.peakRssMb} MB (VmHWM; floor ${run.server.floorPeakRssMb} MB)`,
    met: Number.isFinite(run.server.peakRssMb) ? run.server.peakRssMb < RSS_LIMIT_MB : null,
  };
  const byRound = run.server.peakRssMbByRound ?? [];
  targets['no RSS growth'] = {
    target: `server peak RSS of the last round within ${RSS_GROWTH_MB} MB of the second (the first warms caches)`,
    measured: byRound.length > 0 ? `${byRound.map((mb) => `${mb} MB`).join(', ')} by round` : 'not run',
    met: byRound.length >= 3 ? byRound.at(-1)! <= byRound[1] + RSS_GROWTH_MB : null,
  };
  const { users5, users20 } = run.calibration.nested;
  const drift = run.scenarios
    .filter((s) => s.server.statementsPerRequest !== null && Number.isFinite(s.server.statementsLogged))
    .map((s) => ({ key: s.key, load: s.server.statementsPerRequest!, logged: s.server.statementsLogged }))
    .filter((s) => Math.abs(s.load - s.logged) > 0.25);
  targets['constant statements'] = {
    target: 'statements per request do not grow with the page (users(5 vs 20) { posts }) and match under load',
    measured:
      `nested: ${users5} statements for 5 users, ${users20} for 20` +
      (run.statementCounting === 'pg_stat_statements'
        ? drift.length === 0
          ? '; under load = SQL log for every scenario'
          : `; under load differs: ${drift.map((d) => `${d.key} ${d.load} vs ${d.logged}`).join(', ')}`
        : '; pg_stat_statements n/a'),
    met: users5 === users20 && users5 > 0 && drift.length === 0,
  };
  const required = run.explain.filter((plan) => plan.required);
  targets['EXPLAIN list queries'] = {
    target: 'scenarios 1, 2, 5, 6: index scans on their partial indexes, no Seq Scan',
    measured: required.map((plan) => `${plan.scenario}: ${plan.ok ? 'ok' : 'NOT ok'} (${plan.indexes.join(', ') || 'no index'}${plan.seqScans.length ? `; Seq Scan on ${plan.seqScans.join(', ')}` : ''})`).join('; ') || 'not run',
    met: required.length > 0 ? required.every((plan) => plan.ok) : null,
  };
  return targets;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function table(header: string[], rows: string[][], rightFrom = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => pad(cell, widths[i], i >= rightFrom)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

const fmt = (value: number | null, digits = 1) => (value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

export function printReport(run: BenchRun, history: BenchRun[], print: (line: string) => void): void {
  const { options, dataset, machine } = run;
  print('');
  print(
    `trash-graphql benchmark, ${run.date}: ${dataset.users.toLocaleString('en-US')} users (${(options.trashed * 100).toFixed(0)}% trashed), ` +
      `${dataset.posts.toLocaleString('en-US')} posts; ${options.connections} connections, ${options.rounds} x ${options.duration} s (warmup ${options.warmup} s)`,
  );
  print(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}, PostgreSQL ${machine.postgres} (${machine.postgresSource})`);
  print(`statements per request: "load" from ${run.statementCounting === 'pg_stat_statements' ? 'pg_stat_statements during the measurement' : 'n/a (pg_stat_statements not preloaded)'}, "log" from one request in the SQL log`);
  print('');
  const rows = run.scenarios.map((s) => [
    `${s.key}  ${s.title}`,
    fmt(s.server.rps, 0),
    fmt(s.server.p50, 2),
    fmt(s.server.p99, 2),
    fmt(s.floor.rps, 0),
    fmt(s.floor.p50, 2),
    fmt(s.floor.p99, 2),
    fmt(s.ratio, 2),
    `${fmt(s.server.cpuMsPerRequest, 2)} / ${fmt(s.floor.cpuMsPerRequest, 2)}`,
    `${fmt(s.server.databaseCpuMsPerRequest ?? null, 2)} / ${fmt(s.floor.databaseCpuMsPerRequest ?? null, 2)}`,
    `${fmt(s.server.statementsPerRequest, 1)} / ${fmt(s.server.statementsLogged, 0)}`,
    `${fmt(s.floor.statementsPerRequest, 1)} / ${fmt(s.floor.statementsLogged, 0)}`,
    fmt(s.server.rssMb, 0),
  ]);
  for (const line of table(
    ['scenario', 'server req/s', 'p50 ms', 'p99 ms', 'floor req/s', 'p50 ms', 'p99 ms', 'ratio', 'CPU ms/req srv/floor', 'DB CPU ms/req srv/floor', 'server stmts load/log', 'floor stmts', 'server RSS MB'],
    rows,
  )) {
    print(line);
  }
  if (run.purge) {
    const p = run.purge;
    print(
      `s8-purge  retention job, ${p.usersPerRound.toLocaleString('en-US')} users + their posts (${p.rowsPerRound.toLocaleString('en-US')} rows) per round: ` +
        `server ${p.server.rowsPerSecond.toLocaleString('en-US')} rows/s, floor ${p.floor.rowsPerSecond.toLocaleString('en-US')} rows/s, ratio ${p.ratio.toFixed(2)}`,
    );
  }
  print(`server peak RSS ${run.server.peakRssMb} MB (by round: ${(run.server.peakRssMbByRound ?? []).join(', ')} MB), floor ${run.server.floorPeakRssMb} MB`);
  print('');
  print('EXPLAIN (ANALYZE) of the SELECTs the server sent:');
  for (const plan of run.explain) {
    print(
      `  ${plan.required ? (plan.ok ? 'ok ' : 'BAD') : '   '} ${plan.scenario.padEnd(20)} ${plan.executionMs.toFixed(2).padStart(8)} ms  ${plan.nodes.join(' > ')}`,
    );
  }
  print('');
  print('targets:');
  for (const [name, check] of Object.entries(run.targets)) {
    print(`  ${check.met === null ? ' -  ' : check.met ? 'met ' : 'MISS'} ${name}: ${check.target}: ${check.measured}`);
  }
  // The trashed-share comparison: scenario 1 at 90% and at 1% trashed, when both were run at this scale.
  const at = (share: number) =>
    [...history].reverse().find((h) => h.options.scale === options.scale && Math.abs(h.options.trashed - share) < 1e-9 && h.scenarios.some((s) => s.key === 's1-users-page'));
  const high = at(0.9);
  const low = at(0.01);
  if (high && low) {
    const s = (h: BenchRun) => h.scenarios.find((x) => x.key === 's1-users-page')!;
    print(
      `  scenario 1 at 90% vs 1% trashed (${options.scale.toLocaleString('en-US')} users): server p50 ${s(high).server.p50.toFixed(2)} vs ${s(low).server.p50.toFixed(2)} ms, ` +
        `floor p50 ${s(high).floor.p50.toFixed(2)} vs ${s(low).floor.p50.toFixed(2)} ms (runs of ${high.date} and ${low.date})`,
    );
  } else {
    print(`  scenario 1 at 90% vs 1% trashed: run "npm run bench -- --scale ${options.scale} --trashed 0.9" and "... --trashed 0.01" to compare`);
  }
  if (run.heapSnapshots?.length) {
    print('');
    print('Live heap of the server after each round (V8 heap snapshot, taken after a full collection; the snapshots inflate the RSS figures above):');
    for (const heap of run.heapSnapshots) {
      print(`  round ${heap.round}: ${heap.liveMb} MB live; largest: ${heap.top.slice(0, 8).map((holder) => `${holder.name} ${holder.mb} MB`).join(', ')}`);
    }
  }
  if (run.allocations) {
    print('');
    print(
      `Allocations of the measured server (V8 sampling heap profiler, freed objects included, from its first request): ` +
        `${run.allocations.allocatedMb} MB, about ${run.allocations.kbPerRequest} KB per request; by the function that allocated:`,
    );
    for (const entry of run.allocations.functions.slice(0, 15)) print(`  ${entry.share.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
  }
  if (run.profile) {
    print('');
    print(`CPU profile of the measured server (node --cpu-prof, from its first request: warmups and measurements; ${run.profile.busyMs} ms busy)`);
    print('  self time, top functions:');
    for (const entry of run.profile.functions.slice(0, 15)) print(`  ${entry.share.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
    print('  inclusive time (the function and what it called):');
    for (const entry of run.profile.inclusive.slice(0, 25)) print(`  ${entry.share.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
    print('  self time by package:');
    for (const entry of run.profile.packages.slice(0, 12)) print(`  ${entry.share.toFixed(1).padStart(5)}%  ${entry.name}`);
  }
}
