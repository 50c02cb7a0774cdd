import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen`: typed documents for the example client, generated from
 * the committed schema.graphql (schema-first: no running server needed) and
 * the `graphql(...)` operations written in examples/client. The output in
 * examples/client/gql/ is generated, not committed; regenerate after changing
 * the schema or an operation.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/client/**/*.ts', '!examples/client/gql/**'],
  // An operation that no longer matches the schema fails the run instead of being skipped.
  ignoreNoDocuments: false,
  generates: {
    'examples/client/gql/': {
      preset: 'client',
      presetConfig: {
        // The example reads fields of inline fragments directly; there are no named fragments to mask.
        fragmentMasking: false,
      },
      config: {
        // DateTimeISO is serialised as an ISO 8601 string.
        scalars: { DateTimeISO: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
