import { GraphQLError } from 'graphql';

/** The only values `extensions.code` takes in responses; clients switch on them. */
export enum ErrorCode {
  BadUserInput = 'BAD_USER_INPUT',
  NotFound = 'NOT_FOUND',
  Conflict = 'CONFLICT',
  PreconditionFailed = 'PRECONDITION_FAILED',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  QueryTooComplex = 'QUERY_TOO_COMPLEX',
  ResponseTooLarge = 'RESPONSE_TOO_LARGE',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
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

/** BAD_USER_INPUT for a request refused before execution, answered with HTTP 400 as graphql-js's own refusals are. */
export class RequestRefusedError extends AppError {
  constructor(message: string) {
    super(message, ErrorCode.BadUserInput, { http: { status: 400 } });
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

export class ResponseTooLargeError extends AppError {
  constructor(limit: number) {
    super(
      `The answer would be larger than ${limit} bytes; ask for smaller pages (first) or fewer fields`,
      ErrorCode.ResponseTooLarge,
      { limit },
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

/** Seconds a client or load balancer should wait before retrying while the database is unavailable. */
export const RETRY_AFTER_S = 5;
