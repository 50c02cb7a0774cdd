import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { AuthSettings } from '../config';
import { UnauthenticatedError } from '../errors';
import { isUuid } from '../db/ids';
import { ANONYMOUS, type Principal } from './principal';

/** How far ahead of this server's clock a token's `iat` may be: clocks drift a little, tokens are not minted in the future. */
export const ISSUED_AT_SKEW_S = 60;

/**
 * How long a verified token is taken on trust without checking it again.
 * Short, so that a key removed from the JWKS stops being honoured soon.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Most verified tokens remembered (a token is a few hundred bytes). */
const MAX_VERIFIED_TOKENS = 10_000;

/** Resolves the `Authorization` header of a request to a principal. */
export type TokenVerifier = (authorization: string | undefined) => Promise<Principal>;

/**
 * HS256 with JWT_SECRET, or RS256/ES256 against the key set at JWT_JWKS_URL.
 * No header means anonymous; any header that does not carry a valid token
 * (malformed, expired, wrongly signed, `alg: none`, unknown role) is
 * UNAUTHENTICATED, never silently anonymous. Every token must expire (`exp`);
 * one issued in the future (`iat` beyond a small skew) or, with JWT_MAX_AGE,
 * issued too long ago is refused as well.
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl))
    : new TextEncoder().encode(settings.secret);
  const algorithms = settings.jwksUrl ? ['RS256', 'ES256'] : ['HS256'];
  // A client sends the same token with every request, and checking its signature cost more CPU than
  // answering a 50-row page (jose verifies through WebCrypto). Tokens found valid are remembered by
  // their exact text, which a forgery cannot share, until they expire (or JWT_MAX_AGE passes), for at
  // most VERIFIED_TOKEN_TTL_MS. Refused tokens are not remembered: each is checked again.
  const verified = new LRUCache<string, { principal: Principal; validUntil: number }>({ max: MAX_VERIFIED_TOKENS });

  return async (authorization) => {
    if (authorization === undefined) return ANONYMOUS;
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization.trim());
    if (!match) throw new UnauthenticatedError('Invalid Authorization header: expected "Bearer <token>"');
    const token = match[1];
    const known = verified.get(token);
    if (known && Date.now() < known.validUntil) return known.principal;
    const checked = await verify(token);
    verified.set(token, checked);
    return checked.principal;
  };

  async function verify(token: string): Promise<{ principal: Principal; validUntil: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        requiredClaims: settings.maxAgeS === undefined ? ['exp'] : ['exp', 'iat'],
      }));
      checkIssuedAt(payload.iat, settings.maxAgeS);
    } catch {
      // The reason (expired, bad signature, ...) stays out of the response: it helps attackers more than clients.
      throw new UnauthenticatedError('Invalid or expired token');
    }
    const { sub, role } = payload as JWTPayload & { role?: unknown };
    if (role !== 'admin' && role !== 'member') throw new UnauthenticatedError('Token has no valid role claim (admin or member)');
    if (typeof sub !== 'string' || !isUuid(sub)) throw new UnauthenticatedError('Token subject (sub) must be a UUID');
    const limits = [payload.exp! * 1000, Date.now() + VERIFIED_TOKEN_TTL_MS];
    if (settings.maxAgeS !== undefined) limits.push((payload.iat! + settings.maxAgeS) * 1000);
    return { principal: { role, id: sub }, validUntil: Math.min(...limits) };
  }
}

/** jose checks `iat` only against a maximum age, and without skew; the server wants both rules on their own. */
function checkIssuedAt(issuedAt: number | undefined, maxAgeS: number | undefined): void {
  if (issuedAt === undefined) return;
  const now = Date.now() / 1000;
  if (issuedAt > now + ISSUED_AT_SKEW_S) throw new Error('token issued in the future');
  if (maxAgeS !== undefined && now - issuedAt > maxAgeS) throw new Error('token older than JWT_MAX_AGE');
}
