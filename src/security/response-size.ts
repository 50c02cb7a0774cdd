import type { ApolloServerPlugin } from '@apollo/server';
import { defaultFieldResolver, getNamedType, GraphQLObjectType, GraphQLScalarType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { ErrorCode, ResponseTooLargeError } from '../errors';

/** Where a request's running total lives on its context object. */
const RESPONSE_BUDGET = Symbol('responseBudget');

interface ResponseBudget {
  bytes: number;
  limit: number;
  exceeded: boolean;
}

/**
 * Fails a request whose answer grows past `maxBytes` while it is being built,
 * rather than after. Text is what makes answers large (numbers and booleans
 * are bounded by the cost limit), so every field whose type is String or ID
 * adds the length of its value to a running total; once the total is over,
 * every further text field fails at once, and the client gets one
 * RESPONSE_TOO_LARGE error and no data. Only text fields are wrapped, so the
 * check costs nothing on the others.
 */
export function responseSizeLimitPlugin(maxBytes: number): ApolloServerPlugin {
  return {
    async serverWillStart({ schema }) {
      countTextFields(schema);
    },
    async requestDidStart({ contextValue }) {
      const budget: ResponseBudget = { bytes: 0, limit: maxBytes, exceeded: false };
      Object.defineProperty(contextValue, RESPONSE_BUDGET, { value: budget });
      return {
        async willSendResponse({ response }) {
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

function countTextFields(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (!(named instanceof GraphQLScalarType) || (named.name !== 'String' && named.name !== 'ID') || counted.has(field)) continue;
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
