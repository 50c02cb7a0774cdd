import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, RETRY_AFTER_S } from '../errors';

export interface StartupProbes {
  /** The port it listens on, which the real server takes over. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * While start-up waits for the database, a minimal server on the configured
 * address answers `/healthz` 200 (the process is alive) and `/readyz` 503
 * (not ready), and every other request 503 SERVICE_UNAVAILABLE with
 * Retry-After, so an orchestrator neither restarts nor routes to it.
 */
export async function serveStartupProbes(host: string, port: number): Promise<StartupProbes> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', connection: 'close', ...headers });
      response.end(JSON.stringify(body));
    };
    if (path === '/healthz') return answer(200, { status: 'ok' });
    if (path === '/readyz') return answer(503, { status: 'unavailable', reason: 'starting: waiting for the database' });
    return answer(
      503,
      { errors: [{ message: 'The server is starting: the database is not reachable yet; retry later', extensions: { code: ErrorCode.ServiceUnavailable } }] },
      { 'retry-after': String(RETRY_AFTER_S) },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
