import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ReadRouter } from '../db/read-routing';
import { parseWalPosition } from '../db/wal-position';
import type { RequestPlugin } from '../graphql/request-plugins';
import type { RequestContext } from '../request-context';

/** Carries a consistency token: in the response to a mutation, and back from the client on later requests. */
export const CONSISTENCY_TOKEN_HEADER = 'x-consistency-token';

/**
 * A malformed token is refused (400, BAD_USER_INPUT) before GraphQL runs,
 * rather than ignored: a client that forwards it wrongly would otherwise read
 * stale data without knowing.
 */
export function registerConsistencyTokenHeader(http: FastifyInstance): void {
  http.addHook('onRequest', async (request) => {
    const given = request.headers[CONSISTENCY_TOKEN_HEADER];
    if (given !== undefined && (typeof given !== 'string' || parseWalPosition(given) === undefined)) {
      throw Object.assign(new Error(`Invalid ${CONSISTENCY_TOKEN_HEADER} header: send back the value a mutation's response carried, e.g. 0/3000148`), {
        statusCode: 400,
      });
    }
  });
}

/**
 * Routes queries (the whole request) to the server the router picks, taking
 * the request's consistency token into account; mutations stay on the
 * primary, with whatever they read back. After a mutation, the response
 * carries the primary's WAL position, in the header and in
 * `extensions.consistencyToken`.
 */
export function readRoutingPlugin(router: ReadRouter, logger: Logger): RequestPlugin<RequestContext> {
  return {
    requestDidStart() {
      return {
        async didResolveOperation({ operation, request, contextValue }) {
          if (operation?.operation !== 'query') return;
          const header = request.http?.headers.get(CONSISTENCY_TOKEN_HEADER);
          const target = await router.route(header ? parseWalPosition(header) : undefined);
          if (target !== router.primary) contextValue.readFrom(target.em);
        },
        async willSendResponse({ operation, response }) {
          if (operation?.operation !== 'mutation' || response.body.kind !== 'single') return;
          let token: string;
          try {
            token = await router.consistencyToken();
          } catch (error) {
            // Without a token the client may read stale data, which is still better than no answer.
            logger.warn({ err: error }, 'consistency token unavailable: the primary did not answer');
            return;
          }
          response.http.headers.set(CONSISTENCY_TOKEN_HEADER, token);
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, consistencyToken: token };
        },
      };
    },
  };
}
