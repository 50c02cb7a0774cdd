import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/database-errors';
import { AppError, ErrorCode, RETRY_AFTER_S } from '../errors';
import type { RequestPlugin } from './request-plugins';

/** The database cannot be reached or did not answer in time: nothing the client did wrong, and worth a retry. */
const SERVICE_UNAVAILABLE_MESSAGE = 'The database is unavailable; retry later';

const clientCodes = new Set<string>(Object.values(ErrorCode));
/** Apollo's automatic persisted queries protocol: APQ clients react to these codes, so they pass unchanged. */
const persistedQueryCodes = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

/**
 * Errors a client caused or can act on: ours, type-graphql's argument
 * validation, and GraphQL's own parse/validation/variable errors. Anything
 * else is a server fault.
 */
function isClientError(original: unknown, code: unknown): boolean {
  return original instanceof AppError || describeArgumentValidation(original) !== undefined || isRequestErrorCode(code) || isUncodedBadRequest(original);
}

/**
 * Apollo refuses some requests with an HTTP 4xx status but no code (a
 * persisted-query hash that does not match its query, an unsupported
 * persisted-query version): they are the client's, not the server's.
 */
function isUncodedBadRequest(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions?.code !== undefined) return false;
  const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** GraphQL's own parse, validation and variable errors carry a code of their own. */
function isRequestErrorCode(code: unknown): code is string {
  return typeof code === 'string' && code !== ErrorCode.InternalServerError;
}

/**
 * Apollo's `formatError`: client errors pass with their code (GraphQL's own
 * codes become BAD_USER_INPUT); anything else reaches the client only as a
 * masked INTERNAL_SERVER_ERROR, and `unexpectedErrorLogger` logs it.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const where = { locations: formatted.locations, path: formatted.path };
  if (isDatabaseUnavailable(original)) {
    return { message: SERVICE_UNAVAILABLE_MESSAGE, ...where, extensions: { code: ErrorCode.ServiceUnavailable } };
  }
  if (original instanceof AppError) {
    // Apollo has already taken `http` (the response status) out of the formatted extensions.
    return { message: original.message, ...where, extensions: formatted.extensions };
  }
  const validation = describeArgumentValidation(original);
  if (validation) {
    return { message: validation.message, ...where, extensions: { code: ErrorCode.BadUserInput, field: validation.field } };
  }
  const code = formatted.extensions?.code;
  if (isRequestErrorCode(code)) {
    const publicCode = clientCodes.has(code) || persistedQueryCodes.has(code) ? code : ErrorCode.BadUserInput;
    return { message: formatted.message, ...where, extensions: { code: publicCode } };
  }
  if (isUncodedBadRequest(original)) {
    return { message: formatted.message, ...where, extensions: { code: ErrorCode.BadUserInput } };
  }
  return { message: 'Internal server error', ...where, extensions: { code: ErrorCode.InternalServerError } };
}

/**
 * Logs each unexpected error with its stack and the request id, and adds that
 * id to the masked error the client gets, so a report can be matched with
 * its log line.
 */
export function unexpectedErrorLogger(logger: Logger): RequestPlugin<{ requestId: string }> {
  return {
    requestDidStart() {
      return {
        didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (isClientError(original, error.extensions?.code)) continue;
            if (isDatabaseUnavailable(original)) {
              logger.warn({ err: original, requestId: contextValue?.requestId, path: error.path }, 'database unavailable while resolving a request');
              continue;
            }
            logger.error({ err: original, requestId: contextValue?.requestId, path: error.path }, 'unexpected error while resolving a request');
          }
        },
        willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || !contextValue?.requestId) return;
          for (const error of response.body.singleResult.errors ?? []) {
            if (error.extensions?.code === ErrorCode.InternalServerError) {
              (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
            }
          }
        },
      };
    },
  };
}

/**
 * HTTP 503 with Retry-After whenever a response carries SERVICE_UNAVAILABLE:
 * load balancers and clients act on the status, not on the body.
 */
export function serviceUnavailableStatus(): RequestPlugin {
  return {
    requestDidStart() {
      return {
        willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          if (!(response.body.singleResult.errors ?? []).some((error) => error.extensions?.code === ErrorCode.ServiceUnavailable)) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(RETRY_AFTER_S));
        },
      };
    },
  };
}

interface ValidationFailure {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationFailure[];
}

/** Turns type-graphql's ArgumentValidationError into one message naming the first bad field. */
function describeArgumentValidation(error: unknown): { message: string; field: string } | undefined {
  if (!(error instanceof GraphQLError) || !Array.isArray(error.extensions?.validationErrors)) return undefined;
  const failures = error.extensions.validationErrors as ValidationFailure[];
  const first = firstFailure(failures, []);
  if (!first) return undefined;
  return { message: `Invalid ${first.path.join('.')}: ${first.messages.join('; ')}`, field: first.path[first.path.length - 1] };
}

function firstFailure(failures: ValidationFailure[], parents: string[]): { path: string[]; messages: string[] } | undefined {
  for (const failure of failures) {
    const here = [...parents, failure.property];
    if (failure.constraints && Object.keys(failure.constraints).length > 0) {
      return { path: here, messages: Object.values(failure.constraints) };
    }
    const nested = failure.children && firstFailure(failure.children, here);
    if (nested) return nested;
  }
  return undefined;
}
