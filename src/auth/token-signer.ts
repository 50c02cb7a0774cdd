import { SignJWT } from 'jose';
import type { Role } from './principal';

/** Signs an HS256 token with the claims the server reads (`sub`, `role`); for development and tests. */
export function signToken(secret: string, claims: { role: Role; sub: string }, ttl: string): Promise<string> {
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}
