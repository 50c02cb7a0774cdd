import type { TestServer } from './test-server';
import type { TrashableView } from './trashable';

export const POST_FIELDS = 'id title body version createdAt updatedAt deletedAt deletedBy deleteReason deletionId purgeAt isDeleted author { id }';

export interface PostView extends TrashableView {
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string;
  author: { id: string };
}

export const createPostMutation = `mutation($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`;
export const deletePostMutation = `mutation($id: ID!, $reason: String) { deletePost(id: $id, reason: $reason) { ${POST_FIELDS} } }`;

let sequence = 0;

/** Creates a post through the API; title and body are numbered unless given. */
export async function createPost(server: TestServer, authorId: string, input: Partial<{ title: string; body: string }> = {}): Promise<PostView> {
  sequence += 1;
  const response = await server.gql<{ createPost: PostView }>(createPostMutation, {
    input: { authorId, title: `Post ${sequence}`, body: `Body of post ${sequence}`, ...input },
  });
  if (!response.data?.createPost) throw new Error(`createPost failed: ${JSON.stringify(response.errors)}`);
  return response.data.createPost;
}

export async function deletePost(server: TestServer, id: string, reason?: string): Promise<PostView> {
  const response = await server.gql<{ deletePost: PostView }>(deletePostMutation, { id, reason });
  if (!response.data?.deletePost) throw new Error(`deletePost failed: ${JSON.stringify(response.errors)}`);
  return response.data.deletePost;
}

/** `post(id)` through the API; null when it answers null. */
export async function findPost(server: TestServer, id: string, includeDeleted = false): Promise<PostView | null> {
  const response = await server.gql<{ post: PostView | null }>(
    `query($id: ID!, $includeDeleted: Boolean! = false) { post(id: $id, includeDeleted: $includeDeleted) { ${POST_FIELDS} } }`,
    { id, includeDeleted },
  );
  if (response.errors) throw new Error(`post failed: ${JSON.stringify(response.errors)}`);
  return response.data!.post;
}
