import { SignJWT } from 'jose';

/** The HS256 secret every test server is configured with. */
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export type Role = 'admin' | 'member';

/** The subject of test admin tokens: what `deletedBy` and audit `actorId` show for their actions. */
export const ADMIN_ID = '00000000-0000-7000-8000-00000000ad01';

/** A token as a client would send it, signed with the test servers' secret. */
export async function signTestToken(claims: { role: Role; sub?: string }, options: { expiresIn?: string; secret?: string } = {}): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub ?? ADMIN_ID)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

/** `Authorization` header value for a test admin. */
export async function adminAuthorization(): Promise<string> {
  return `Bearer ${await signTestToken({ role: 'admin' })}`;
}

/** `Authorization` header value for a member acting as the given user. */
export async function memberAuthorization(userId: string): Promise<string> {
  return `Bearer ${await signTestToken({ role: 'member', sub: userId })}`;
}
