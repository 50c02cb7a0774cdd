import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import cors from '@fastify/cors';
import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify from 'fastify';
import pino, { type Logger } from 'pino';
import type { Config } from './config';
import { createTokenVerifier } from './auth/token-verifier';
import { openDatabase } from './db/database';
import { createErrorFormatter } from './errors';
import { trashPolicies } from './modules/trash-policies';
import { createRequestContext, type RequestContext } from './request-context';
import { buildAppSchema } from './schema';
import { RetentionJob } from './trash/retention.job';
import type { Clock } from './trash/service-context';

export interface App {
  /** Where the GraphQL endpoint answers, e.g. http://localhost:4000/graphql */
  readonly url: string;
  readonly orm: MikroORM;
  readonly logger: Logger;
  readonly retention: RetentionJob;
  /** Stops accepting requests, lets in-flight ones finish, closes the database. */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** Defaults to the wall clock; tests pass their own. */
  clock?: Clock;
  logger?: Logger;
}

/** Origins of Apollo's hosted Sandbox and Studio, allowed in development so they can query a local server. */
const APOLLO_SANDBOX_ORIGINS = ['https://studio.apollographql.com', 'https://sandbox.embed.apollographql.com'];

/** The one place that wires database, schema and HTTP together. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? pino({ level: config.logLevel });
  const clock = options.clock ?? (() => new Date());
  const database = await openDatabase(config, logger);
  try {
    const schema = await buildAppSchema();
    const verifyToken = createTokenVerifier(config.auth);
    if (config.auth.usingDevelopmentSecret) {
      logger.warn('JWT_SECRET is not set: tokens are signed with the fixed development secret (npm run token prints one)');
    }
    const http = Fastify({ logger: false });
    const isProduction = config.nodeEnv === 'production';
    const apollo = new ApolloServer<RequestContext>({
      schema,
      formatError: createErrorFormatter(logger),
      includeStacktraceInErrorResponses: false,
      // main.ts owns signal handling; Apollo's own handler would race it.
      stopOnTerminationSignals: false,
      introspection: !isProduction,
      plugins: [
        fastifyApolloDrainPlugin(http),
        isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
      ],
    });
    await apollo.start();
    await http.register(cors, { origin: isProduction ? false : APOLLO_SANDBOX_ORIGINS, credentials: true });
    await http.register(fastifyApollo(apollo), {
      path: '/graphql',
      context: async (request) =>
        createRequestContext({
          em: database.orm.em,
          clock,
          trash: config.trash,
          logger,
          principal: await verifyToken(request.headers.authorization),
        }),
    });
    const retention = new RetentionJob({ orm: database.orm, clock, settings: config.trash, policies: trashPolicies, logger });
    const address = await http.listen({ port: config.port, host: '0.0.0.0' });
    const port = new URL(address).port;
    const url = `http://localhost:${port}/graphql`;
    logger.info({ url }, 'GraphQL server ready');
    retention.start();

    let stopping: Promise<void> | undefined;
    return {
      url,
      orm: database.orm,
      logger,
      retention,
      stop: () =>
        (stopping ??= (async () => {
          await apollo.stop();
          await http.close();
          await retention.stop();
          await database.close();
        })()),
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
