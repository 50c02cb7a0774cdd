import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { QueryLimits } from '../config';
import { QueryTooComplexError } from '../errors';

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
 * in production, and the cost limit (graphql-query-complexity), all checked
 * before anything executes. The token limit is a parse option: see `parseOptions`.
 */
export function queryLimits(limits: QueryLimits, options: { hideSuggestions: boolean }): {
  plugins: ApolloServerPlugin[];
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
    plugins: [...(plugins as ApolloServerPlugin[]), costLimitPlugin(limits.cost)],
    validationRules: validationRules as ValidationRule[],
    parseOptions: { maxTokens: limits.tokens },
  };
}

/** Costs remembered per parsed document (Apollo reuses the parsed document of a repeated query). */
const MAX_COSTS_PER_DOCUMENT = 64;

function costLimitPlugin(limit: number): ApolloServerPlugin {
  const costs = new WeakMap<DocumentNode, Map<string, number>>();
  return {
    async requestDidStart({ schema }: { schema: GraphQLSchema }) {
      return {
        async didResolveOperation({ request, document }) {
          // The cost depends on the operation and its variables (`first`), nothing else.
          const key = JSON.stringify([request.operationName ?? null, request.variables ?? null]);
          let known = costs.get(document);
          let cost = known?.get(key);
          if (cost === undefined) {
            try {
              cost = getComplexity({
                schema,
                query: document,
                operationName: request.operationName,
                variables: request.variables,
                estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
              });
            } catch (error) {
              // getComplexity coerces the variables itself and throws an uncoded error on a bad value. Nothing
              // runs with bad variables: graphql-js refuses them before any resolver, as BAD_USER_INPUT (HTTP 400).
              if (error instanceof GraphQLError) return;
              throw error;
            }
            if (!known) costs.set(document, (known = new Map()));
            if (known.size >= MAX_COSTS_PER_DOCUMENT) known.clear();
            known.set(key, cost);
          }
          if (cost > limit) throw new QueryTooComplexError(cost, limit);
        },
      };
    },
  };
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
