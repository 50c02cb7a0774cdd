import { graphql } from './gql';

export const UsersPageQuery = graphql(`
  query UsersPage($first: Int!, $after: String) {
    users(first: $first, after: $after) {
      totalCount
      nodes {
        id
        username
        email
        isDeleted
        deletionId
        version
        posts(first: 5) {
          totalCount
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

export const CreateUserMutation = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      username
    }
  }
`);

export const CreatePostMutation = graphql(`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) {
      id
      title
    }
  }
`);

export const DeleteUserMutation = graphql(`
  mutation DeleteUser($id: ID!, $reason: String) {
    deleteUser(id: $id, reason: $reason) {
      id
      username
      isDeleted
      deletedAt
      deletionId
      deleteReason
      version
    }
  }
`);

export const RestoreDeletionMutation = graphql(`
  mutation RestoreDeletion($deletionId: ID!, $onConflict: OnConflict!) {
    restoreDeletion(deletionId: $deletionId, onConflict: $onConflict) {
      deletionId
      restored {
        __typename
        ... on Trashable {
          id
          deletedAt
          deletionId
        }
      }
      renames {
        field
        from
        to
      }
    }
  }
`);

export const TrashPageQuery = graphql(`
  query TrashPage($first: Int!, $after: String, $filter: TrashFilter) {
    trash(first: $first, after: $after, filter: $filter) {
      totalCount
      nodes {
        __typename
        ... on Trashable {
          id
          deletedAt
          deletionId
          deleteReason
        }
        ... on User {
          username
          email
        }
        ... on Post {
          title
          author {
            id
            username
          }
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);

export const RestorePreviewQuery = graphql(`
  query RestorePreview($deletionId: ID!, $onConflict: OnConflict!) {
    restorePreview(deletionId: $deletionId, onConflict: $onConflict) {
      restorable
      items {
        __typename
        ... on Trashable {
          id
        }
        ... on User {
          username
        }
        ... on Post {
          title
        }
      }
      conflicts {
        field
        value
        conflictingId
      }
      blockedBy {
        __typename
        ... on Trashable {
          id
        }
        ... on User {
          username
        }
      }
      renames {
        field
        from
        to
      }
    }
  }
`);

export const PurgeUserMutation = graphql(`
  mutation PurgeUser($id: ID!) {
    purgeUser(id: $id)
  }
`);

export const PurgePostMutation = graphql(`
  mutation PurgePost($id: ID!) {
    purgePost(id: $id)
  }
`);

export const EmptyTrashMutation = graphql(`
  mutation EmptyTrash {
    emptyTrash
  }
`);

export const TrashEventsSubscription = graphql(`
  subscription TrashEvents {
    trashEvents {
      action
      deletionId
      items {
        id
        entityType
      }
      actorId
      at
    }
  }
`);
