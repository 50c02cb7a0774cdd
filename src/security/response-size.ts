import { defaultFieldResolver, getNamedType, GraphQLObjectType, GraphQLScalarType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { ErrorCode, ResponseTooLargeError } from '../errors';
import type { RequestPlugin } from '../graphql/request-plugins';

/** Where a request's running total lives on its context object. */
const RESPONSE_BUDGET = Symbol('responseBudget');

interface ResponseBudget {
  bytes: number;
  limit: number;
  exceeded: boolean;
}

/**
 * Longest text, in characters, that a field may hold without being counted.
 * Every field costs at least 1 under the cost limit, so a query within
 * QUERY_MAX_COST returns at most that many such values: 2.5 MB at the default
 * cost of 10,000.
 */
export const SHORT_TEXT_MAX_LENGTH = 255;

/**
 * Fails a request whose answer grows past `maxBytes` while it is being built,
 * rather than after. Long text is what makes answers large (numbers,
 * booleans and short text are bounded by the cost limit), so every String or
 * ID field that can hold more than SHORT_TEXT_MAX_LENGTH characters adds the
 * length of its value to a running total; once the total is over, every
 * further counted field fails at once, and the client gets one
 * RESPONSE_TOO_LARGE error and no data.
 *
 * `isShortText(type, field)` names the fields whose stored values are known
 * to be short (a uuid, a varchar(32)): they are left alone, because a wrapped
 * field makes the compiled execution call a resolver, with its own resolve
 * info, for every value of every row, which was a fifth of what a 50-row page
 * allocated. Fields nothing is known about (computed ones) are counted.
 */
export function responseSizeLimitPlugin(maxBytes: number, isShortText: (type: string, field: string) => boolean): RequestPlugin {
  return {
    serverWillStart({ schema }) {
      countTextFields(schema, isShortText);
    },
    requestDidStart({ contextValue }) {
      const budget: ResponseBudget = { bytes: 0, limit: maxBytes, exceeded: false };
      Object.defineProperty(contextValue, RESPONSE_BUDGET, { value: budget });
      return {
        willSendResponse({ response }) {
          if (!budget.exceeded || response.body.kind !== 'single') return;
          response.body.singleResult = {
            errors: [{ message: new ResponseTooLargeError(maxBytes).message, extensions: { code: ErrorCode.ResponseTooLarge, limit: maxBytes } }],
          };
        },
      };
    },
  };
}

const counted = new WeakSet<GraphQLField<unknown, unknown>>();

function countTextFields(schema: GraphQLSchema, isShortText: (type: string, field: string) => boolean): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (!(named instanceof GraphQLScalarType) || (named.name !== 'String' && named.name !== 'ID') || counted.has(field)) continue;
      if (isShortText(type.name, field.name)) continue;
      counted.add(field);
      const resolve = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context, info) => {
        const budget = (context as Record<symbol, ResponseBudget | undefined> | undefined)?.[RESPONSE_BUDGET];
        if (!budget) return resolve(source, args, context, info);
        if (budget.exceeded) throw new ResponseTooLargeError(budget.limit);
        const value = resolve(source, args, context, info);
        if (value instanceof Promise) return value.then((resolved) => addText(budget, resolved));
        return addText(budget, value);
      };
    }
  }
}

function addText<T>(budget: ResponseBudget, value: T): T {
  if (typeof value === 'string') budget.bytes += value.length + 2;
  else if (Array.isArray(value)) for (const item of value) if (typeof item === 'string') budget.bytes += item.length + 2;
  if (budget.bytes > budget.limit) budget.exceeded = true;
  return value;
}
