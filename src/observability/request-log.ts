import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RequestPlugin } from '../graphql/request-plugins';
import type { TrashChange, TrashObserver } from '../trash/trash-observer';

/** What one GraphQL request did, filled in while it runs and logged when it ends. */
export interface RequestOutcome {
  requestId: string;
  /**
   * The name of the operation that ran, as written in the document: `anonymous` when it has none,
   * `unresolved` when the request failed before an operation was chosen (a name absent from the document included).
   */
  operation: string;
  errorCodes: string[];
  durationMs: number;
  statusCode: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    graphqlOutcome?: { operation: string; errorCodes: string[] };
  }
}

/** Names become metric labels and log fields, so only plain GraphQL names are kept as they are. */
function operationLabel(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'invalid';
}

/**
 * One log line per GraphQL request (request id, operation, duration, status,
 * error codes; never variables, tokens or headers), and the same outcome to
 * `observe` (metrics).
 */
export function registerRequestLog(http: FastifyInstance, logger: Logger, observe: (outcome: RequestOutcome) => void): void {
  // Callback hooks, not async ones: they run on every request, and an async hook costs two promises.
  http.addHook('onRequest', (request, _reply, done) => {
    request.graphqlOutcome = { operation: 'unresolved', errorCodes: [] };
    done();
  });
  http.addHook('onResponse', (request, reply, done) => {
    if (request.url.startsWith('/graphql') && request.method !== 'OPTIONS') logOutcome(request, reply);
    done();
  });

  function logOutcome(request: FastifyRequest, reply: FastifyReply): void {
    const outcome: RequestOutcome = {
      requestId: request.id,
      operation: request.graphqlOutcome?.operation ?? 'unresolved',
      errorCodes: request.graphqlOutcome?.errorCodes ?? [],
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      statusCode: reply.statusCode,
    };
    // A request refused before GraphQL ran (bad token, body too large) still has a code.
    if (outcome.errorCodes.length === 0 && reply.statusCode >= 400) outcome.errorCodes.push(reply.statusCode === 401 ? 'UNAUTHENTICATED' : 'BAD_USER_INPUT');
    logger.info(outcome, 'graphql request');
    observe(outcome);
  }
}

/** Copies the operation name and the error codes of the response onto the request's outcome. */
export function outcomePlugin(): RequestPlugin<{ outcome?: { operation: string; errorCodes: string[] } }> {
  return {
    requestDidStart() {
      return {
        didResolveOperation({ operation, contextValue: context }) {
          // Only names of operations in the parsed document: a client cannot invent label values by sending names.
          if (context.outcome && operation) context.outcome.operation = operationLabel(operation.name?.value);
        },
        willSendResponse({ response, contextValue: context }) {
          if (!context.outcome || response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            context.outcome.errorCodes.push(String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          }
        },
      };
    },
  };
}

/** One log line per committed trash, restore and purge, with ids and counts. */
export function trashChangeLogger(logger: Logger): TrashObserver {
  return {
    trashChanged(change: TrashChange) {
      logger.info(change, `trash ${change.action.toLowerCase()}`);
    },
  };
}
