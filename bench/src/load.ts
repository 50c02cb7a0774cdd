import autocannon from 'autocannon';
import { DOCUMENTS, FLOOR_PATHS, type RotationState, type Scenario } from './scenarios';

export type Target = 'server' | 'floor';

export interface LoadResult {
  /** Answered within the measurement. */
  requests: number;
  /** Sent, including those still in flight when it ended (the server still completes them). */
  sent: number;
  seconds: number;
  rps: number;
  /** Milliseconds, from every response's own timing (autocannon's histogram rounds to whole ms). */
  p50: number;
  p99: number;
  mean: number;
  /** Transport errors, non-2xx answers and answers carrying GraphQL errors. */
  errors: number;
  firstError?: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Drives one target with autocannon at a fixed concurrency for `seconds`.
 * Every answer is checked for GraphQL errors (a 200 with `errors` is a failure too).
 */
export async function runLoad(options: {
  target: Target;
  baseUrl: string;
  scenario: Scenario;
  authorization?: string;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const { scenario, target } = options;
  const shared: RotationState = { next: 0 };
  let errors = 0;
  let firstError: string | undefined;
  const fail = (message: string) => {
    errors += 1;
    firstError ??= message;
  };
  const url = new URL(options.baseUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.authorization) headers.authorization = options.authorization;
  const requests: autocannon.Request[] = scenario.requests.map((request) => {
    const path = target === 'server' ? url.pathname : FLOOR_PATHS[request.kind];
    const build = (variables?: Record<string, unknown>) => JSON.stringify({ query: DOCUMENTS[request.kind], ...(variables ? { variables } : {}) });
    return {
      method: 'POST',
      path,
      headers,
      body: request.variables ? build(request.variables(shared, {})) : build(),
      ...(request.variables
        ? {
            setupRequest: (req: autocannon.Request, context: object) => ({ ...req, body: build(request.variables!(shared, context as { user?: string })) }),
          }
        : {}),
      onResponse: (status: number, body: string) => {
        if (status !== 200) fail(`HTTP ${status}: ${String(body).slice(0, 300)}`);
        else if (String(body).includes('"errors":')) fail(String(body).slice(0, 300));
      },
    };
  });
  // The first request is built once up front by autocannon; undo the rotation step that cost.
  shared.next = 0;
  const latencies: number[] = [];
  let transportError: string | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url.protocol}//${url.host}`,
        connections: options.connections,
        pipelining: 1,
        duration: options.seconds,
        timeout: 30,
        requests,
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    // autocannon passes (client, status, bytes, responseTime); the time is the last argument.
    instance.on('response', (...args: unknown[]) => {
      latencies.push(Number(args[args.length - 1]));
    });
    instance.on('reqError', (error: Error) => {
      transportError ??= `request error: ${error.message}`;
    });
  });
  if (result.errors > 0) firstError ??= transportError;
  const sorted = Float64Array.from(latencies).sort();
  const seconds = result.duration;
  const total = result.requests.total;
  return {
    requests: total,
    sent: result.requests.sent,
    seconds,
    rps: total / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length),
    errors: errors + result.errors,
    firstError,
  };
}
