import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { MetricsAccess } from '../config';
import { ErrorCode } from '../errors';
import { errorBody, registerNotFoundResponse } from '../http/error-responses';
import type { Metrics } from './metrics';

/**
 * `GET /metrics`: on the API's own port, or alone on METRICS_PORT (so it can
 * stay inside a private network), and behind a bearer token when
 * METRICS_TOKEN is set.
 */
export class MetricsEndpoint {
  private readonly ownServer: FastifyInstance | undefined;
  private address: string | undefined;

  constructor(
    api: FastifyInstance,
    private readonly metrics: Metrics,
    private readonly access: MetricsAccess,
  ) {
    this.ownServer = access.port === undefined ? undefined : Fastify({ logger: false });
    const server = this.ownServer ?? api;
    server.get('/metrics', async (request, reply) => {
      if (!this.authorized(request.headers.authorization)) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer')
          .send(errorBody('Metrics need Authorization: Bearer <METRICS_TOKEN>', ErrorCode.Unauthenticated));
      }
      return reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    if (this.ownServer) registerNotFoundResponse(this.ownServer);
  }

  /** Starts the metrics port when it has one of its own; returns where /metrics answers there. */
  async listen(host: string): Promise<string | undefined> {
    if (!this.ownServer) return undefined;
    const address = await this.ownServer.listen({ port: this.access.port, host });
    this.address = `http://localhost:${new URL(address).port}/metrics`;
    return this.address;
  }

  async close(): Promise<void> {
    await this.ownServer?.close();
  }

  private authorized(header: string | undefined): boolean {
    if (this.access.token === undefined) return true;
    // Digests have equal lengths, so the comparison takes the same time whatever was sent.
    const digest = (value: string) => createHash('sha256').update(value).digest();
    return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${this.access.token}`));
  }
}
