/** Page sizes of the scenarios; the floor uses the same. */
export const PAGE = 50;
export const NESTED_PAGE = 20;
export const NESTED_POSTS = 5;
/** The server runs with the default TRASH_RETENTION_DAYS; the floor schedules purges the same way. */
export const RETENTION_DAYS = 30;

/** Where the floor answers each kind of request (it routes on the path, not on the GraphQL document). */
export const FLOOR_PATHS = {
  typename: '/typename',
  usersPage: '/users-page',
  usersPageTotal: '/users-page-total',
  usersDeep: '/users-deep',
  usersWithPosts: '/users-with-posts',
  userById: '/user-by-id',
  usersTrashed: '/users-trashed',
  trash: '/trash',
  trashSearch: '/trash-search',
  deleteUser: '/delete-user',
  restoreUser: '/restore-user',
} as const;

export const DOCUMENTS = {
  // No resolver and no SQL: what the pipeline itself (HTTP, parsing, validation, plugins, execution) costs.
  typename: `query Typename { __typename }`,
  usersPage: `query UsersPage { users(first: ${PAGE}) { nodes { id username email createdAt } } }`,
  usersPageTotal: `query UsersPageTotal { users(first: ${PAGE}) { totalCount nodes { id username email createdAt } } }`,
  usersDeep: `query UsersDeep($after: String!) { users(first: ${PAGE}, after: $after) { nodes { id username email createdAt } } }`,
  usersWithPosts: `query UsersWithPosts { users(first: ${NESTED_PAGE}) { nodes { posts(first: ${NESTED_POSTS}) { totalCount nodes { title } } } } }`,
  userById: `query UserById($id: ID!) { user(id: $id) { id username email createdAt } }`,
  usersTrashed: `query TrashedUsers { users(onlyDeleted: true, first: ${PAGE}) { nodes { id username email deletedAt } } }`,
  trash: `query Trash { trash(first: ${PAGE}) { nodes { __typename ... on Trashable { id deletionId deletedAt purgeAt } } } }`,
  trashSearch: `query TrashSearch($search: String!) { trash(first: ${PAGE}, filter: { search: $search }) { totalCount nodes { __typename ... on Trashable { id deletionId deletedAt purgeAt } } } }`,
  deleteUser: `mutation DeleteUser($id: ID!) { deleteUser(id: $id) { id deletedAt } }`,
  restoreUser: `mutation RestoreUser($id: ID!) { restoreUser(id: $id) { id deletedAt } }`,
} as const;

export type RequestKind = keyof typeof DOCUMENTS;

/** What the scenarios need from the dataset, read once per run. */
export interface ScenarioInputs {
  /** A keyset cursor `depth` rows into the live listing, encoded as the server encodes cursors. */
  deepCursor: string;
  depth: number;
  /** Live users to read one at a time, in rotation. */
  userIds: string[];
  /** Live users whose posts are all live, for delete + restore pairs; each is restored after it is deleted. */
  writePool: string[];
  /** The trash search term: a few digits of a trashed user's number (see bench.ts). */
  searchTerm: string;
}

/** One request of a scenario: the GraphQL body, and the floor's path for it. */
export interface ScenarioRequest {
  kind: RequestKind;
  /**
   * Variables of the next request, called once per request sent: `shared` is
   * one rotation for all connections, `connection` belongs to one connection
   * (autocannon's per-connection context, kept from a delete to its restore).
   */
  variables?: (shared: RotationState, connection: { user?: string }) => Record<string, unknown>;
}

export interface RotationState {
  next: number;
}

export interface Scenario {
  key: string;
  title: string;
  /** Needs an admin token (onlyDeleted, trash, writes). */
  admin: boolean;
  /** Requests sent in turn on each connection (a delete, then the restore of the same user). */
  requests: ScenarioRequest[];
  /** Reads only: the server's and the floor's answers are compared before measuring. */
  readOnly: boolean;
  /** A list query whose plan must use its index, no Seq Scan (EXPLAIN). */
  explain?: 'list';
}

export function scenarios(inputs: ScenarioInputs): Scenario[] {
  return [
    { key: 's0-typename', title: '{ __typename } (no SQL)', admin: false, readOnly: true, requests: [{ kind: 'typename' }] },
    { key: 's1-users-page', title: 'users(first: 50) page 1', admin: false, readOnly: true, explain: 'list', requests: [{ kind: 'usersPage' }] },
    { key: 's1b-users-page-total', title: 'users(first: 50) + totalCount', admin: false, readOnly: true, requests: [{ kind: 'usersPageTotal' }] },
    {
      key: 's2-users-deep',
      title: `users(first: 50) after ${inputs.depth.toLocaleString('en-US')} rows`,
      admin: false,
      readOnly: true,
      explain: 'list',
      requests: [{ kind: 'usersDeep', variables: () => ({ after: inputs.deepCursor }) }],
    },
    { key: 's3-users-posts', title: 'users(20) { posts(5) { totalCount nodes } }', admin: false, readOnly: true, requests: [{ kind: 'usersWithPosts' }] },
    {
      key: 's4-user-by-id',
      title: 'user(id), rotating ids',
      admin: false,
      readOnly: true,
      requests: [{ kind: 'userById', variables: (state) => ({ id: inputs.userIds[state.next++ % inputs.userIds.length] }) }],
    },
    { key: 's5-users-trashed', title: 'users(onlyDeleted: true, first: 50)', admin: true, readOnly: true, explain: 'list', requests: [{ kind: 'usersTrashed' }] },
    { key: 's6-trash', title: 'trash(first: 50)', admin: true, readOnly: true, explain: 'list', requests: [{ kind: 'trash' }] },
    {
      key: 's6b-trash-search',
      title: 'trash(first: 50, filter: { search }) + totalCount',
      admin: true,
      readOnly: true,
      explain: 'list',
      requests: [{ kind: 'trashSearch', variables: () => ({ search: inputs.searchTerm }) }],
    },
    {
      key: 's7-delete-restore',
      title: 'deleteUser + restoreUser (5 posts)',
      admin: true,
      readOnly: false,
      requests: [
        {
          kind: 'deleteUser',
          variables: (shared, connection) => {
            connection.user = inputs.writePool[shared.next++ % inputs.writePool.length];
            return { id: connection.user };
          },
        },
        { kind: 'restoreUser', variables: (_shared, connection) => ({ id: connection.user }) },
      ],
    },
  ];
}
