import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the web app (client-preset) and the `possibleTypes` Apollo
 * Client needs for the Trashable and Node interfaces and the TrashItem union,
 * both from the committed schema.graphql. Run from the repository root (npm run web:build). Output in src/gql/ is generated, not committed.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['examples/web/src/**/*.{ts,tsx}', '!examples/web/src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'examples/web/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars: { DateTimeISO: 'string' }, enumsAsTypes: true, useTypeImports: true, nonOptionalTypename: true },
    },
    'examples/web/src/gql/possible-types.ts': {
      plugins: ['fragment-matcher'],
      config: { apolloClientVersion: 3, useExplicitTyping: true },
    },
  },
};

export default config;
