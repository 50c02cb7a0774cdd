import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { createTokenVerifier } from './auth/token-verifier';
import type { Config } from './config';
import { openDatabase, type Database } from './db/database';
import { logStatement } from './db/compiled/read-executor';
import { ReadRouter } from './db/read-routing';
import { ErrorCode } from './errors';
import { compiledExecution, parsedDocumentStore } from './graphql/compiled-execution';
import { formatError, serviceUnavailableStatus, unexpectedErrorLogger } from './graphql/format-error';
import { renderedReads, stringifyResult } from './graphql/rendered-reads';
import { mergedPlugins } from './graphql/request-plugins';
import { renderableFields } from './modules/rendered-fields';
import { trashPolicies } from './modules/trash-policies';
import { ormOptions } from './orm';
import type { RequestContext } from './request-context';
import { createRequestContext } from './services';
import { buildAppSchema } from './schema';
import { queryLimits } from './security/query-limits';
import { SHORT_TEXT_MAX_LENGTH } from './security/response-size';
import { shortTextProperties } from './db/columns';
import { answerUnparsableRequest, registerNotFoundResponse } from './http/error-responses';
import { CONSISTENCY_TOKEN_HEADER, readRoutingPlugin, registerConsistencyTokenHeader } from './http/consistency';
import { registerHealthRoutes } from './http/health';
import { serveStartupProbes } from './http/startup-probes';
import { registerWebApp } from './http/web-app';
import { startSubscriptionServer, subscriptionsOverHttpRefused } from './http/subscriptions';
import { TrashEventBus } from './events/trash-event-bus';
import { createLogger, withSafeErrorLogging } from './observability/logger';
import { Metrics } from './observability/metrics';
import { MetricsEndpoint } from './observability/metrics-endpoint';
import { ReplicaMetrics } from './observability/replica-metrics';
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
  const logger = options.logger ? withSafeErrorLogging(options.logger) : createLogger(config);
  const clock = options.clock ?? (() => new Date());
  // Alive but not ready while the database is prepared (it may be down for a while): see startup-probes.ts.
  const probes = await serveStartupProbes(config.host, config.port);
  let database: Database;
  try {
    database = await openDatabase(config, logger, ormOptions);
  } catch (error) {
    await probes.close();
    throw error;
  }
  let readRouter: ReadRouter | undefined;
  let stopEvents = async () => {};
  try {
    const isProduction = config.nodeEnv === 'production';
    const schema = await buildAppSchema();
    const verifyToken = createTokenVerifier(config.auth);
    if (config.auth.usingDevelopmentSecret) {
      logger.warn(
        { host: config.host },
        'JWT_SECRET is not set: tokens are signed with the fixed, public development secret (npm run token prints one), so the server listens on 127.0.0.1 only; set JWT_SECRET to serve other hosts',
      );
    }
    // Fields stored as uuids or short varchars need no response-size accounting (see response-size.ts).
    const shortText = shortTextProperties(database.orm, SHORT_TEXT_MAX_LENGTH);
    const limits = queryLimits(config.limits, { hideSuggestions: isProduction, isShortText: (type, field) => shortText.has(`${type}.${field}`) });

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
    // Hooks on every request take a callback rather than being async: a promise each, twice, on the hot path.
    http.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
    http.addHook('onSend', (_request, reply, payload, done) => {
      // Once shutdown has begun, keep-alive connections close after their response instead of lingering.
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });
    const metrics = new Metrics(database.orm, trashPolicies, config.metricsAccess);
    const trashEvents = new TrashEventBus({
      connectionString: database.url,
      logger,
      clock,
      statementSent: (text, values) => logStatement(database.orm.em, text, values),
    });
    await trashEvents.start();
    stopEvents = () => trashEvents.stop();
    const observer = combineObservers(trashChangeLogger(logger), metrics, trashEvents);
    if (config.replicas.urls.length > 0) {
      const replicaMetrics = new ReplicaMetrics(metrics.registry, () => readRouter?.status() ?? []);
      readRouter = await ReadRouter.open(database.orm, config, logger, ormOptions, replicaMetrics);
      registerConsistencyTokenHeader(http);
    }
    registerRequestLog(http, logger, (outcome) => metrics.observeRequest(outcome));
    registerHealthRoutes(http, database.orm);
    if (config.serveWebApp) registerWebApp(http, logger);
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
      // Reads of entity columns only are answered with JSON PostgreSQL writes (rendered-reads.ts); the rest runs compiled.
      gateway: compiledExecution(schema, renderedReads(schema, database.orm.getMetadata(), renderableFields)),
      stringifyResult,
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
        // One request listener for all of these: Apollo calls each listener's every hook on every request (request-plugins.ts).
        mergedPlugins<RequestContext>([
          unexpectedErrorLogger(logger),
          serviceUnavailableStatus(),
          subscriptionsOverHttpRefused(),
          // Before outcomePlugin: the response size limit replaces the answer's errors, which the outcome then reports.
          ...limits.plugins,
          ...(readRouter ? [readRoutingPlugin(readRouter, logger)] : []),
          outcomePlugin(),
        ]),
        // No cache hints in this schema: without this, Apollo's cache-control plugin runs on every field of every request.
        ApolloServerPluginCacheControlDisabled(),
        // Not a federation subgraph: without this, Apollo's inline-trace plugin still starts on every request to find that out.
        ApolloServerPluginInlineTraceDisabled(),
        isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      ],
    });
    await apollo.start();
    const corsOrigins = isProduction ? [...config.corsOrigins] : [...config.corsOrigins, ...APOLLO_SANDBOX_ORIGINS];
    await http.register(cors, {
      origin: corsOrigins.length > 0 ? corsOrigins : false,
      credentials: true,
      exposedHeaders: ['x-request-id', CONSISTENCY_TOKEN_HEADER],
    });
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
    const subscriptions = startSubscriptionServer({
      httpServer: http.server,
      path: '/graphql',
      schema,
      verifyToken,
      trashEvents,
      limits: { ...limits, cost: config.limits.cost },
      maxPerConnection: config.subscriptions.perConnection,
      maxPerProcess: config.subscriptions.perProcess,
      logger,
    });
    const retention = new RetentionJob({ orm: database.orm, clock, settings: config.trash, policies: trashPolicies, logger, observer });
    await probes.close();
    const address = await http.listen({ port: probes.port, host: config.host });
    const metricsUrl = await metricsEndpoint?.listen(config.host);
    const port = new URL(address).port;
    const url = `http://${publicHostOf(config.host)}:${port}/graphql`;
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
          let cancelling: Promise<void> | undefined;
          // In-flight requests get the grace period; whatever still runs after it is cut off.
          const cutOff = setTimeout(() => {
            logger.warn({ graceMs: config.shutdownGraceMs }, 'shutdown grace period over: closing remaining connections');
            http.server.closeAllConnections();
            // A write its client will never see acknowledged must not commit afterwards.
            cancelling = database.cancelInFlight();
          }, config.shutdownGraceMs);
          try {
            // Subscribers get a clean close (1001 Going Away) rather than a dropped socket.
            await subscriptions.close();
            await apollo.stop();
            await http.close();
            await metricsEndpoint?.close();
          } finally {
            clearTimeout(cutOff);
          }
          await cancelling;
          await retention.stop();
          await readRouter?.close();
          await trashEvents.stop();
          await database.close();
          logger.info('stopped');
        })()),
    };
  } catch (error) {
    await probes.close();
    await readRouter?.close();
    await stopEvents();
    await database.close();
    throw error;
  }
}

/** A wildcard address is reachable as localhost; a specific one by itself. */
function publicHostOf(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function combineObservers(...observers: TrashObserver[]): TrashObserver {
  return { trashChanged: (change) => observers.forEach((observer) => observer.trashChanged(change)) };
}
