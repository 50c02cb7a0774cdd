import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors';

/** The body of every answer refused outside GraphQL: GraphQL's error shape, with a code. */
export function errorBody(message: string, code: ErrorCode): { errors: Array<{ message: string; extensions: { code: ErrorCode } }> } {
  return { errors: [{ message, extensions: { code } }] };
}

/** Paths the server does not serve answer 404 in GraphQL's error shape. */
export function registerNotFoundResponse(http: FastifyInstance): void {
  http.setNotFoundHandler(async (_request, reply) =>
    reply.status(404).send(errorBody('Not found: the GraphQL endpoint is POST /graphql', ErrorCode.NotFound)),
  );
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses before
 * Fastify sees them (headers too large: 431, a request that timed out: 408,
 * anything unparsable: 400) are answered in GraphQL's error shape too.
 */
export function answerUnparsableRequest(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timed out']
        : [400, 'Malformed HTTP request'];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(message, ErrorCode.BadUserInput));
  // end() sends the answer before closing, as Node's documentation of 'clientError' does.
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
