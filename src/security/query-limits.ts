import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationRule } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../config';
import { QueryTooComplexError, RequestRefusedError } from '../errors';
import { CostCache } from './cost-cache';
import { operationShape } from './operation-shape';
import { responseSizeLimitPlugin } from './response-size';
import type { RequestPlugin } from '../graphql/request-plugins';

/**
 * Cost of a connection field: its own 1, plus its selection once per item it
 * may return, so nested lists multiply (`users(first: 100) { nodes {
 * posts(first: 100) { ... } } }` costs over 10,000). Set on every field that
 * takes `first`, through type-graphql's `complexity` option.
 */
export const connectionCost: ComplexityEstimator = ({ args, childComplexity }) => 1 + (Number(args.first) || 20) * childComplexity;

/** Cost of a field that returns one item per id it is given (`nodes(ids)`). */
export const perIdCost: ComplexityEstimator = ({ args, childComplexity }) => 1 + (Array.isArray(args.ids) ? args.ids.length : 1) * childComplexity;

/**
 * Depth, alias and directive limits (graphql-armor), field suggestions hidden
 * in production, the cost limit (graphql-query-complexity), all checked
 * before anything executes, and the response size limit, checked while the
 * answer is built. The token limit is a parse option: see `parseOptions`.
 */
export function queryLimits(
  limits: QueryLimits,
  options: { hideSuggestions: boolean; isShortText: (type: string, field: string) => boolean },
): {
  plugins: Array<ApolloServerPlugin | RequestPlugin>;
  validationRules: ValidationRule[];
  parseOptions: { maxTokens: number };
} {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.depth },
    maxAliases: { n: limits.aliases },
    maxDirectives: { n: limits.directives },
    // graphql-js counts tokens itself while parsing (ApolloServer parseOptions.maxTokens), answering 400, not 500.
    maxTokens: { enabled: false },
    // Armor's cost limit does not multiply by list sizes; the plugin below does.
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: options.hideSuggestions },
  });
  const { plugins, validationRules } = armor.protect();
  return {
    plugins: [
      ...(plugins as ApolloServerPlugin[]),
      costLimitPlugin(limits),
      ...(limits.responseBytes > 0 ? [responseSizeLimitPlugin(limits.responseBytes, options.isShortText)] : []),
    ],
    validationRules: validationRules as ValidationRule[],
    parseOptions: { maxTokens: limits.tokens },
  };
}

function costLimitPlugin(limits: QueryLimits): RequestPlugin {
  const costs = new CostCache();
  return {
    requestDidStart({ schema }) {
      return {
        didResolveOperation({ request, document, operation, queryHash }) {
          // An unknown operationName is reported by execution (BAD_USER_INPUT); there is nothing to cost.
          if (!operation) return;
          // Variables that do not coerce are reported by execution exactly as inline values would be; nothing runs.
          const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
          if (coerced.errors) return;
          const shape = operationShape(document, operation);
          // The cost depends on the operation and the list sizes (`first`, how many `ids`) given through variables, nothing else.
          const key = CostCache.key(queryHash, operation.name?.value, shape.pageSizeVariables.map((name) => sizeOf(coerced.coerced[name])));
          let cost = costs.get(key);
          if (cost === undefined) {
            cost = complexityOf(schema, document, operation, request.variables) + shape.totalCounts * limits.totalCountCost;
            costs.set(key, cost);
          }
          if (cost > limits.cost) throw new QueryTooComplexError(cost, limits.cost);
        },
      };
    },
  };
}

function complexityOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
): number {
  try {
    return getComplexity({
      schema,
      query: document,
      operationName: operation.name?.value,
      variables,
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    // The document is valid and its variables coerce, so this is not expected; still, it is about the request.
    if (error instanceof GraphQLError) throw new RequestRefusedError(error.message);
    throw error;
  }
}

/** What a size variable contributes to the cost: a page size as given, a list of ids by its length. */
function sizeOf(value: unknown): unknown {
  return Array.isArray(value) ? value.length : value;
}

/**
 * The cost limit for documents that do not come through Apollo (subscriptions
 * over WebSocket): the same estimate as the HTTP path, throwing QUERY_TOO_COMPLEX.
 */
export function enforceCostLimit(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName?: string | null; variables?: Record<string, unknown> | null },
  limit: number,
): void {
  const cost = getComplexity({
    schema,
    query: document,
    operationName: request.operationName ?? undefined,
    variables: request.variables ?? undefined,
    estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
  });
  if (cost > limit) throw new QueryTooComplexError(cost, limit);
}
