import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { type DocumentNode, execute, type ExecutionResult, getVariableValues, GraphQLError, type GraphQLSchema, printSchema, valueFromASTUntyped, type VariableDefinitionNode } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';

/** Answers a request whose response the database can write (see rendered-reads.ts), or undefined to execute it. */
export type RenderedReads = (request: Parameters<GatewayExecutor>[0]) => Promise<ExecutionResult | undefined>;

/** Distinct operations compiled per parsed document; a document rarely holds more than a handful. */
const MAX_OPERATIONS_PER_DOCUMENT = 16;

/**
 * Runs each operation as JavaScript compiled for it by graphql-jit instead of
 * graphql-js's generic executor, which walks the schema for every field of
 * every row. Apollo Server parses, validates and runs the plugins as before;
 * only execution changes. Apollo Server 5 accepts another executor only
 * through its `gateway` option, so this is a gateway serving one local,
 * never-changing schema.
 *
 * Compiled operations are kept per parsed document (a WeakMap): Apollo keeps
 * the parsed documents of repeated queries in its bounded document store, so
 * the compiled code lives exactly as long as its document and is bounded by
 * the same limit.
 */
export function compiledExecution(schema: GraphQLSchema, rendered?: RenderedReads): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | ExecutionResult>>();

  const compile = (document: DocumentNode, operationName: string | null): CompiledQuery | ExecutionResult => {
    const key = operationName ?? '';
    let operations = compiled.get(document);
    let query = operations?.get(key);
    if (query === undefined) {
      // Compile errors (e.g. an operation name not in the document) are a result too, and as repeatable.
      query = compileQuery(schema, document, operationName ?? undefined);
      if (!operations) compiled.set(document, (operations = new Map()));
      if (operations.size >= MAX_OPERATIONS_PER_DOCUMENT) operations.clear();
      operations.set(key, query);
    }
    return query;
  };

  const executor: GatewayExecutor = async (request) => {
    const variables = withDefaults(request.operation?.variableDefinitions, request.request.variables ?? {});
    // No operation by that name (or none named among several): graphql-js words the error as Apollo expects it.
    if (!request.operation) return execute({ schema, document: request.document, operationName: request.request.operationName, variableValues: variables });
    const answer = await rendered?.(request);
    if (answer) return answer;
    const query = compile(request.document, request.operationName);
    if (!isCompiledQuery(query)) return query;
    const result = await query.query(undefined, request.context, variables);
    if (!result.errors?.length) return result;
    if (result.data === undefined) {
      // Variables that do not coerce: graphql-js's own errors carry the variable's node, by which Apollo
      // answers 400 BAD_USER_INPUT (graphql-jit's do not). Only this failing path pays for coercing twice.
      const coerced = getVariableValues(schema, request.operation.variableDefinitions ?? [], variables);
      if (coerced.errors) return { errors: coerced.errors };
    }
    return { ...result, errors: result.errors.map(asGraphQLError) };
  };

  return {
    async load() {
      return { executor };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async stop() {},
  };
}

/**
 * The request's variables, with the default of each one it leaves out written
 * in as if the client had sent it: graphql-jit 0.8.9 refuses an omitted
 * `$flag: Boolean! = false` as "not provided", where GraphQL uses the default.
 */
function withDefaults(definitions: readonly VariableDefinitionNode[] | undefined, variables: Record<string, unknown>): Record<string, unknown> {
  let filled: Record<string, unknown> | undefined;
  for (const definition of definitions ?? []) {
    const name = definition.variable.name.value;
    if (definition.defaultValue && !Object.hasOwn(variables, name)) (filled ??= { ...variables })[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return filled ?? variables;
}

/**
 * graphql-jit's errors are look-alikes with read-only fields; plugins that
 * rewrite messages (graphql-armor's suggestion masking) need graphql-js's own
 * class. The cause, path, extensions and locations are kept.
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  // graphql-jit's class inherits from graphql-js's, so instanceof cannot tell them apart.
  if (error.constructor === GraphQLError) return error as GraphQLError;
  const copy = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined, extensions: error.extensions });
  (copy as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return copy;
}

/** Parsed and validated documents kept for repeated queries: by count as well as size, since each may also hold compiled code. */
const MAX_PARSED_DOCUMENTS = 500;

/**
 * Apollo's store of parsed documents, bounded by count (and by 4 MiB of their
 * JSON size) instead of Apollo's default 30 MiB, which a client sending many
 * distinct queries could fill with ASTs many times that size in memory.
 */
export function parsedDocumentStore(): InMemoryLRUCache<DocumentNode> {
  return new InMemoryLRUCache<DocumentNode>({ max: MAX_PARSED_DOCUMENTS, maxSize: 4 * 2 ** 20 });
}
