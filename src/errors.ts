import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';

/** The only values `extensions.code` takes in responses; clients switch on them. */
export enum ErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  PreconditionFailed = 'PRECONDITION_FAILED',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  QueryTooComplex = 'QUERY_TOO_COMPLEX',
  TooManySubscriptions = 'TOO_MANY_SUBSCRIPTIONS',
  InternalServerError = 'INTERNAL_SERVER_ERROR',
}

/** A failure the client caused or can act on; its message is shown as is. */
export abstract class AppError extends GraphQLError {
  protected constructor(message: string, code: ErrorCode, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string, field?: string) {
    super(message, ErrorCode.BadUserInput, field ? { field } : {});
  }
}

export class NotFoundError extends AppError {
  constructor(entityType: string, id: string) {
    super(`${entityType} ${id} not found`, ErrorCode.NotFound, { entityType, id });
  }
}

/** Several ids of one call that name no record the principal may see (`extensions.ids`). */
export class RecordsNotFoundError extends AppError {
  constructor(entityType: string, ids: string[]) {
    super(`${entityType} not found: ${ids.join(', ')}`, ErrorCode.NotFound, { entityType, ids });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: { field?: string; conflictingId?: string } = {}) {
    super(message, ErrorCode.Conflict, details);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, ErrorCode.PreconditionFailed, details);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required: send Authorization: Bearer <token>') {
    // The HTTP status tells clients and proxies the same thing the code does.
    super(message, ErrorCode.Unauthenticated, { http: { status: 401 } });
  }
}

export class QueryTooComplexError extends AppError {
  constructor(cost: number, limit: number) {
    super(
      `Query is too complex: cost ${cost} exceeds the limit of ${limit}; ask for smaller pages (first) or fewer nested lists`,
      ErrorCode.QueryTooComplex,
      { cost, limit, http: { status: 400 } },
    );
  }
}

export class TooManySubscriptionsError extends AppError {
  constructor(message: string) {
    super(message, ErrorCode.TooManySubscriptions);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed for this principal', details: { ids?: string[] } = {}) {
    super(message, ErrorCode.Forbidden, details);
  }
}

const clientCodes = new Set<string>(Object.values(ErrorCode));
/** Apollo's automatic persisted queries protocol: APQ clients react to these codes, so they pass unchanged. */
const persistedQueryCodes = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

/**
 * Errors a client caused or can act on: ours, type-graphql's argument
 * validation, and GraphQL's own parse/validation/variable errors. Anything
 * else is a server fault.
 */
function isClientError(original: unknown, code: unknown): boolean {
  return original instanceof AppError || describeArgumentValidation(original) !== undefined || isRequestErrorCode(code);
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
  if (original instanceof AppError) {
    // `http` only sets the response status; it is not for clients.
    const { http: _status, ...extensions } = original.extensions;
    return { message: original.message, ...where, extensions };
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
  return { message: 'Internal server error', ...where, extensions: { code: ErrorCode.InternalServerError } };
}

/**
 * Logs each unexpected error with its stack and the request id, and adds that
 * id to the masked error the client gets, so a report can be matched with
 * its log line.
 */
export function unexpectedErrorLogger(logger: Logger): ApolloServerPlugin<{ requestId: string }> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (isClientError(original, error.extensions?.code)) continue;
            logger.error({ err: original, requestId: contextValue?.requestId, path: error.path }, 'unexpected error while resolving a request');
          }
        },
        async willSendResponse({ response, contextValue }) {
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
