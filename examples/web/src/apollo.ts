import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type FieldPolicy, type Reference } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import { Kind, OperationTypeNode } from 'graphql';
import possibleTypesResult from './gql/possible-types';

interface ConnectionShape {
  nodes: Reference[];
  pageInfo?: unknown;
  totalCount?: number;
}

/**
 * Keyset connections: one cache entry per combination of the `keyArgs` (never
 * per `after` or `first`); a page fetched with `after` is appended to the
 * entry, a page without `after` (first load, refetch) replaces it.
 */
function connection(keyArgs: string[]): FieldPolicy<ConnectionShape> {
  return {
    keyArgs,
    merge(existing, incoming, { args }) {
      if (!existing || !args?.after) return incoming;
      return { ...incoming, nodes: [...existing.nodes, ...incoming.nodes] };
    },
  };
}

/** The cache rules a client of this API needs; README "Generated clients" explains each. */
export function createCache(): InMemoryCache {
  return new InMemoryCache({
    // Trashable and Node are interfaces, TrashItem a union: fragments on them match only with these.
    possibleTypes: possibleTypesResult.possibleTypes,
    typePolicies: {
      Query: {
        fields: {
          users: connection(['includeDeleted', 'onlyDeleted']),
          posts: connection(['includeDeleted', 'onlyDeleted', 'authorId']),
          trash: connection(['filter']),
        },
      },
      User: { fields: { posts: connection(['includeDeleted', 'onlyDeleted']) } },
    },
  });
}

/** What the browser talks to: the same origin that served the app, /graphql over HTTP and WebSocket. */
export interface ClientOptions {
  token: string;
  /** Told each time the WebSocket (re)connects: events may have been missed before, so views refetch. */
  onEventsConnected?: () => void;
}

export function createApolloClient({ token, onEventsConnected }: ClientOptions) {
  const authorization = `Bearer ${token}`;
  const http = new HttpLink({ uri: '/graphql', headers: { authorization } });
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const ws = new GraphQLWsLink(
    createClient({
      url: wsUrl,
      connectionParams: { authorization },
      // The server closes with 1012/1013 when it could not hear events: reconnect, then refetch.
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: { connected: () => onEventsConnected?.() },
    }),
  );
  const link = ApolloLink.split(
    ({ query }) =>
      query.definitions.some((definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.SUBSCRIPTION),
    ws,
    http,
  );
  return new ApolloClient({ link, cache: createCache() });
}

/** The role claim of a token, for showing admin-only buttons; the server decides what is allowed. */
export function roleOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { role?: string };
    return payload.role;
  } catch {
    return undefined;
  }
}
