/**
 * A small command-line client for the trash-graphql server, written against
 * types generated from schema.graphql (see codegen.ts). It creates a user,
 * moves it to the trash with a reason, finds it in the trash listing, restores
 * it, refetches it by id through `node`, and prints one JSON line summarising
 * what happened. Any error exits 1.
 *
 *   npm run codegen                     # generates examples/client/gql/
 *   npx tsc -p examples/client          # compiles to dist/examples/client/
 *   GRAPHQL_URL=http://localhost:4000/graphql GRAPHQL_TOKEN=<jwt> node dist/examples/client/main.js
 *
 * GRAPHQL_URL defaults to http://localhost:4000/graphql; when GRAPHQL_TOKEN is
 * set, every request carries `Authorization: Bearer $GRAPHQL_TOKEN`.
 *
 * Read-your-writes: a server with read replicas answers every mutation with an
 * `x-consistency-token` header. The client sends the latest one back on every
 * later request, so that the trash listing right after the delete is read
 * from a replica only once that replica has the delete (else from the primary).
 */
import { randomBytes } from 'node:crypto';
import type { GraphQLClient } from 'graphql-request' with { 'resolution-mode': 'import' };
import { graphql } from './gql';

const CreateUser = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      username
      version
      isDeleted
    }
  }
`);

const TrashUser = graphql(`
  mutation TrashUser($id: ID!, $reason: String) {
    deleteUser(id: $id, reason: $reason) {
      id
      isDeleted
      deletedAt
      deleteReason
      deletionId
      version
    }
  }
`);

const TrashBin = graphql(`
  query TrashBin($first: Int!) {
    trash(first: $first) {
      totalCount
      nodes {
        __typename
        ... on User {
          id
          username
          deletedAt
          deleteReason
        }
        ... on Post {
          id
          title
          deletedAt
          author {
            id
            username
          }
        }
      }
    }
  }
`);

const RestoreUser = graphql(`
  mutation RestoreUser($id: ID!) {
    restoreUser(id: $id) {
      id
      isDeleted
      deletedAt
      version
    }
  }
`);

// Relay-style refetch: `node` takes the id any query returned, whatever its type.
const RefetchNode = graphql(`
  query RefetchNode($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on User {
        username
        isDeleted
        version
      }
    }
  }
`);

export interface ClientOptions {
  /** The GraphQL endpoint. */
  url: string;
  /** A JWT sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** Why the user is trashed. */
  reason?: string;
}

/** What one run did, printed as a single JSON line. */
export interface ClientSummary {
  userId: string;
  username: string;
  deletionId: string;
  deleteReason: string | null;
  /** How many records the trash held after the user was moved into it. */
  trashCount: number;
  foundInTrash: true;
  restored: true;
  /** `node(id)` answered the restored, live user at the same version. */
  refetchedByNode: true;
  /** The user's version after create (1), delete (2) and restore (3). */
  version: number;
}

/** The whole flow: create, trash, list the trash, restore, refetch. Throws on any error or unexpected answer. */
export async function runClient(options: ClientOptions): Promise<ClientSummary> {
  const client = await createClient(options);
  const username = `demo_${randomBytes(6).toString('hex')}`;
  const reason = options.reason ?? 'example client run';

  const { createUser: created } = await client.request(CreateUser, {
    input: { username, email: `${username}@example.com`, displayName: 'Example client' },
  });

  const { deleteUser: trashed } = await client.request(TrashUser, { id: created.id, reason });
  if (!trashed.isDeleted || trashed.deletionId == null) {
    throw new Error(`deleteUser did not move user ${created.id} to the trash`);
  }

  const { trash } = await client.request(TrashBin, { first: 10 });
  const entry = trash.nodes.find((node) => node.__typename === 'User' && node.id === created.id);
  if (entry?.__typename !== 'User') {
    throw new Error(`user ${created.id} is not among the ${trash.nodes.length} newest trash entries`);
  }

  const { restoreUser: restored } = await client.request(RestoreUser, { id: created.id });
  if (restored.isDeleted || restored.deletedAt != null) {
    throw new Error(`restoreUser left user ${created.id} in the trash`);
  }

  const { node } = await client.request(RefetchNode, { id: created.id });
  if (node?.__typename !== 'User' || node.isDeleted || node.version !== restored.version) {
    throw new Error(`node(${created.id}) did not answer the restored user: ${JSON.stringify(node)}`);
  }

  return {
    userId: created.id,
    username: created.username,
    deletionId: trashed.deletionId,
    deleteReason: entry.deleteReason ?? null,
    trashCount: trash.totalCount,
    foundInTrash: true,
    restored: true,
    refetchedByNode: true,
    version: restored.version,
  };
}

/** The header in which the server hands out, and expects back, the position of the client's latest write. */
export const CONSISTENCY_TOKEN_HEADER = 'x-consistency-token';

async function createClient(options: ClientOptions): Promise<GraphQLClient> {
  // graphql-request is an ES module; a dynamic import loads it from this CommonJS program.
  const { GraphQLClient } = await import('graphql-request');
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const client: GraphQLClient = new GraphQLClient(options.url, {
    headers,
    // Keep the newest token a response carried, and send it with every later request.
    responseMiddleware: (response) => {
      const token = response instanceof Error ? null : response.headers.get(CONSISTENCY_TOKEN_HEADER);
      if (token) client.setHeader(CONSISTENCY_TOKEN_HEADER, token);
    },
  });
  return client;
}

/** One line per GraphQL error (`CODE: message`), or the error's own message. */
export function describeError(error: unknown): string {
  const response = (error as { response?: { errors?: Array<{ message: string; extensions?: { code?: unknown } }>; status?: number } })
    ?.response;
  if (response?.errors?.length) {
    return response.errors.map((e) => `${String(e.extensions?.code ?? 'ERROR')}: ${e.message}`).join('\n');
  }
  if (response?.status) return `HTTP ${response.status}`;
  return error instanceof Error ? error.message : String(error);
}

if (require.main === module) {
  const url = process.env.GRAPHQL_URL || 'http://localhost:4000/graphql';
  const token = process.env.GRAPHQL_TOKEN || undefined;
  runClient({ url, token }).then(
    (summary) => console.log(JSON.stringify(summary)),
    (error: unknown) => {
      console.error(`example client failed against ${url}: ${describeError(error)}`);
      process.exitCode = 1;
    },
  );
}
