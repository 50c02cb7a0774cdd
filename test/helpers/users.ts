import type { TestServer } from './test-server';

export const USER_FIELDS = 'id username email displayName createdAt updatedAt version deletedAt isDeleted';

export interface UserView {
  id: string;
  username: string;
  email: string;
  displayName: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  deletedAt: string | null;
  isDeleted: boolean;
}

let sequence = 0;

/** Creates a user through the API; username and email are unique unless given. */
export async function createUser(server: TestServer, input: Partial<{ username: string; email: string; displayName: string }> = {}): Promise<UserView> {
  sequence += 1;
  const suffix = `${process.pid}_${sequence}`;
  const response = await server.gql<{ createUser: UserView }>(
    `mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`,
    { input: { username: `user_${suffix}`, email: `user_${suffix}@example.com`, ...input } },
  );
  if (!response.data?.createUser) throw new Error(`createUser failed: ${JSON.stringify(response.errors)}`);
  return response.data.createUser;
}

export async function deleteUser(server: TestServer, id: string, reason?: string): Promise<UserView> {
  const response = await server.gql<{ deleteUser: UserView }>(
    `mutation($id: ID!, $reason: String) { deleteUser(id: $id, reason: $reason) { ${USER_FIELDS} } }`,
    { id, reason },
  );
  if (!response.data?.deleteUser) throw new Error(`deleteUser failed: ${JSON.stringify(response.errors)}`);
  return response.data.deleteUser;
}
