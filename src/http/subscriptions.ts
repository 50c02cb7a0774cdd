import type { Server } from 'node:http';
import { GraphQLError, parse, specifiedRules, validate, getOperationAST, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Principal } from '../auth/principal';
import type { TokenVerifier } from '../auth/token-verifier';
import { BadUserInputError, ErrorCode, TooManySubscriptionsError } from '../errors';
import type { TrashEventBus } from '../events/trash-event-bus';
import type { RequestPlugin } from '../graphql/request-plugins';
import { enforceCostLimit } from '../security/query-limits';

/** What subscription resolvers receive: who is listening and where events come from. */
export interface SubscriptionContext {
  principal: Principal;
  trashEvents: TrashEventBus;
}

export interface SubscriptionServerOptions {
  httpServer: Server;
  /** Shared with GraphQL over HTTP. */
  path: string;
  schema: GraphQLSchema;
  verifyToken: TokenVerifier;
  trashEvents: TrashEventBus;
  limits: { validationRules: ValidationRule[]; parseOptions: { maxTokens: number }; cost: number };
  maxPerConnection: number;
  maxPerProcess: number;
  logger: Logger;
}

export interface SubscriptionServer {
  /** Closes every connection with 1001 (Going Away) and stops accepting new ones. */
  close(): Promise<void>;
}

/** Close code for subscriptions ended because events could not be heard (retryable for graphql-ws clients). */
export const EVENTS_INTERRUPTED_CLOSE_CODE = 1012;
/** Close code for a subscription refused while the server cannot hear events (retryable too). */
export const EVENTS_UNAVAILABLE_CLOSE_CODE = 1013;

/**
 * GraphQL subscriptions over WebSocket (the graphql-ws protocol) on the same
 * server and path as GraphQL over HTTP. The token comes in `connection_init`
 * (`{ "authorization": "Bearer <token>" }`); anonymous and invalid ones are
 * refused with 4403. Every document passes the same token, depth, alias,
 * directive and cost limits as over HTTP. Only subscriptions are served here.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { schema, limits, logger } = options;
  const principals = new WeakMap<Context, Principal>();
  const connections = new Set<Context>();
  const rules = [...specifiedRules, ...limits.validationRules];
  const webSockets = new WebSocketServer({ server: options.httpServer, path: options.path });

  const activeSubscriptions = () => [...connections].reduce((sum, ctx) => sum + Object.keys(ctx.subscriptions).length, 0);

  const server = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          const principal = await options.verifyToken(authorizationOf(ctx.connectionParams));
          if (principal.role === 'anonymous') return false;
          principals.set(ctx, principal);
          connections.add(ctx);
          return true;
        } catch {
          return false;
        }
      },
      onClose: (ctx) => {
        connections.delete(ctx);
      },
      onSubscribe: (ctx, _id, payload) => {
        if (!options.trashEvents.isListening) {
          // Accepting now could miss events silently; graphql-ws clients retry 1013 after a pause.
          (ctx.extra as { socket: { close(code: number, reason: string): void } }).socket.close(
            EVENTS_UNAVAILABLE_CLOSE_CODE,
            'Trash events are unavailable for a moment; retry',
          );
          return [new GraphQLError('Trash events are unavailable for a moment; retry')];
        }
        // ctx.subscriptions already holds the id being subscribed.
        if (Object.keys(ctx.subscriptions).length > options.maxPerConnection) {
          return [new TooManySubscriptionsError(`At most ${options.maxPerConnection} subscriptions per connection`)];
        }
        if (activeSubscriptions() > options.maxPerProcess) {
          return [new TooManySubscriptionsError('The server has as many subscriptions as it takes; retry later')];
        }
        let document;
        try {
          document = parse(payload.query, limits.parseOptions);
        } catch (error) {
          return [asClientError(error)];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors.map(asClientError);
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation !== 'subscription') {
          return [new BadUserInputError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP')];
        }
        try {
          enforceCostLimit(schema, document, payload, limits.cost);
        } catch (error) {
          return [asClientError(error)];
        }
        const contextValue: SubscriptionContext = { principal: principals.get(ctx)!, trashEvents: options.trashEvents };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
    },
    webSockets,
  );

  const stopListening = options.trashEvents.onInterruption(() => {
    // Subscribers are told, not left believing nothing happened: graphql-ws clients reconnect after 1012.
    for (const client of webSockets.clients) client.close(EVENTS_INTERRUPTED_CLOSE_CODE, 'Trash events interrupted; subscribe again and refetch');
  });
  webSockets.on('error', (error) => logger.error({ err: error }, 'WebSocket server error'));

  return {
    close: async () => {
      stopListening();
      await server.dispose();
    },
  };
}

/** Over HTTP, a subscription has nowhere to stream to: refused with a pointer to WebSocket. */
export function subscriptionsOverHttpRefused(): RequestPlugin {
  return {
    requestDidStart() {
      return {
        didResolveOperation({ operation }) {
          if (operation?.operation === 'subscription') {
            throw new BadUserInputError('Subscriptions are served over WebSocket (graphql-ws protocol) at this same URL, not over HTTP');
          }
        },
      };
    },
  };
}

/** The `Authorization` value from connection_init, under the names clients commonly use. */
function authorizationOf(params: Record<string, unknown> | undefined): string | undefined {
  if (!params) return undefined;
  const value = params.authorization ?? params.Authorization;
  if (typeof value === 'string') return value;
  return typeof params.token === 'string' ? `Bearer ${params.token}` : undefined;
}

/** Parse, validation and cost errors are the client's: they keep their message and get a code. */
function asClientError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError && error.extensions?.code) return error;
  const message = error instanceof Error ? error.message : String(error);
  const source = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(message, {
    nodes: source?.nodes,
    source: source?.source,
    positions: source?.positions,
    extensions: { ...source?.extensions, code: ErrorCode.BadUserInput },
  });
}
