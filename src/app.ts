import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier';
import type { Config } from './config';
import { openDatabase } from './db/database';
import { ErrorCode } from './errors';
import { compiledExecution, parsedDocumentStore } from './graphql/compiled-execution';
import { formatError, unexpectedErrorLogger } from './graphql/format-error';
import { trashPolicies } from './modules/trash-policies';
import { ormOptions } from './orm';
import type { RequestContext } from './request-context';
import { createRequestContext } from './services';
import { buildAppSchema } from './schema';
import { queryLimits } from './security/query-limits';
import { answerUnparsableRequest, registerNotFoundResponse } from './http/error-responses';
import { registerHealthRoutes } from './http/health';
import { createLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { MetricsEndpoint } from './observability/metrics-endpoint';
import { outcomePlugin, registerRequestLog, trashChangeLogger } from './observability/request-log';
import { RetentionJob } from './trash/retention.job';
import type { TrashObserver } from './trash/trash-observer';
import type { Clock } from './service-context';

export interface App {
  /** Where the GraphQL endpoint answers, e.g. http://localhost:4000/graphql */
  readonly url: string;
  /** Where /metrics answers when METRICS_PORT gives it a port of its own. */
  readonly metricsUrl: string | undefined;
  readonly orm: MikroORM;
  readonly logger: Logger;
  readonly retention: RetentionJob;
  /** Stops accepting requests, lets in-flight ones finish (up to SHUTDOWN_GRACE_MS), stops the purge job, closes the database. */
  stop(): Promise<void>;
  /** For an immediate exit: tells the embedded database to stop, without waiting for anything. */
  abort(): void;
}

export interface AppOptions {
  /** Defaults to the wall clock; tests pass their own. */
  clock?: Clock;
  logger?: Logger;
}

/** Origins of Apollo's hosted Sandbox and Studio, allowed in development so they can query a local server. */
const APOLLO_SANDBOX_ORIGINS = ['https://studio.apollographql.com', 'https://sandbox.embed.apollographql.com'];

/** A client's x-request-id is kept when it is a sane token; otherwise the server makes one. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The one place that wires database, schema and HTTP together. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const clock = options.clock ?? (() => new Date());
  const database = await openDatabase(config, logger, ormOptions);
  try {
    const isProduction = config.nodeEnv === 'production';
    const schema = await buildAppSchema();
    const verifyToken = createTokenVerifier(config.auth);
    if (config.auth.usingDevelopmentSecret) {
      logger.warn('JWT_SECRET is not set: tokens are signed with the fixed development secret (npm run token prints one)');
    }
    const limits = queryLimits(config.limits, { hideSuggestions: isProduction });

    const http = Fastify({
      logger: false,
      bodyLimit: config.limits.bodyBytes,
      clientErrorHandler: answerUnparsableRequest,
      genReqId: (request) => {
        const given = request.headers['x-request-id'];
        return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
      },
    });
    let closing = false;
    http.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
    http.addHook('onSend', async (_request, reply) => {
      // Once shutdown has begun, keep-alive connections close after their response instead of lingering.
      if (closing) reply.header('connection', 'close');
    });
    const metrics = new Metrics(database.orm, trashPolicies, config.metricsAccess);
    const observer = combineObservers(trashChangeLogger(logger), metrics);
    registerRequestLog(http, logger, (outcome) => metrics.observeRequest(outcome));
    registerHealthRoutes(http, database.orm);
    registerNotFoundResponse(http);
    const metricsEndpoint = config.metrics ? new MetricsEndpoint(http, metrics, config.metricsAccess) : undefined;
    // Transport-level rejections (too large, unparsable JSON) answer in GraphQL's error shape too.
    http.setErrorHandler((error: FastifyError, _request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      const message = status === 413 ? `Request body is larger than ${config.limits.bodyBytes} bytes` : status < 500 ? error.message : 'Internal server error';
      if (status >= 500) logger.error({ err: error }, 'unexpected HTTP error');
      void reply.status(status).send({
        errors: [{ message, extensions: { code: status < 500 ? ErrorCode.BadUserInput : ErrorCode.InternalServerError } }],
      });
    });

    const apollo = new ApolloServer<RequestContext>({
      // Operations run as compiled code (graphql-jit); parsing, validation and plugins stay Apollo's.
      gateway: compiledExecution(schema),
      documentStore: parsedDocumentStore(),
      formatError,
      validationRules: limits.validationRules,
      parseOptions: limits.parseOptions,
      allowBatchedHttpRequests: false,
      includeStacktraceInErrorResponses: false,
      // main.ts owns signal handling; Apollo's own handler would race it.
      stopOnTerminationSignals: false,
      introspection: !isProduction || config.allowIntrospection,
      plugins: [
        fastifyApolloDrainPlugin(http),
        unexpectedErrorLogger(logger),
        // Before outcomePlugin: the response size limit replaces the answer's errors, which the outcome then reports.
        ...limits.plugins,
        outcomePlugin(),
        // No cache hints in this schema: without this, Apollo's cache-control plugin runs on every field of every request.
        ApolloServerPluginCacheControlDisabled(),
        isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      ],
    });
    await apollo.start();
    const corsOrigins = isProduction ? [...config.corsOrigins] : [...config.corsOrigins, ...APOLLO_SANDBOX_ORIGINS];
    await http.register(cors, { origin: corsOrigins.length > 0 ? corsOrigins : false, credentials: true });
    await http.register(fastifyApollo(apollo), {
      path: '/graphql',
      context: async (request) =>
        createRequestContext({
          em: database.orm.em,
          clock,
          trash: config.trash,
          logger,
          requestId: request.id,
          outcome: request.graphqlOutcome,
          observer,
          principal: await verifyToken(request.headers.authorization),
        }),
    });
    const retention = new RetentionJob({ orm: database.orm, clock, settings: config.trash, policies: trashPolicies, logger, observer });
    const address = await http.listen({ port: config.port, host: '0.0.0.0' });
    const metricsUrl = await metricsEndpoint?.listen('0.0.0.0');
    const port = new URL(address).port;
    const url = `http://localhost:${port}/graphql`;
    logger.info({ url }, 'GraphQL server ready');
    retention.start();

    let stopping: Promise<void> | undefined;
    return {
      url,
      metricsUrl,
      orm: database.orm,
      logger,
      retention,
      abort: () => database.abort(),
      stop: () =>
        (stopping ??= (async () => {
          closing = true;
          // In-flight requests get the grace period; whatever still runs after it is cut off.
          const cutOff = setTimeout(() => {
            logger.warn({ graceMs: config.shutdownGraceMs }, 'shutdown grace period over: closing remaining connections');
            http.server.closeAllConnections();
          }, config.shutdownGraceMs);
          try {
            await apollo.stop();
            await http.close();
            await metricsEndpoint?.close();
          } finally {
            clearTimeout(cutOff);
          }
          await retention.stop();
          await database.close();
          logger.info('stopped');
        })()),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

function combineObservers(...observers: TrashObserver[]): TrashObserver {
  return { trashChanged: (change) => observers.forEach((observer) => observer.trashChanged(change)) };
}
