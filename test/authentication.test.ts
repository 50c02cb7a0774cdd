import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ADMIN_SUB, runTokenCommand } from '../src/cli/token';
import { createTokenVerifier } from '../src/auth/token-verifier';
import { DEVELOPMENT_JWT_SECRET, loadConfig } from '../src/config';
import { ADMIN_ID, signTestToken, TEST_JWT_SECRET } from './helpers/auth';
import { startTestServer, type TestServer } from './helpers/test-server';

const whoAmI = '{ auditEvents(first: 1) { totalCount } }';

describe('HS256 tokens', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('a valid admin token is accepted', async () => {
    const response = await server.gqlAs(`Bearer ${await signTestToken({ role: 'admin' })}`, whoAmI);
    expect(response.errors).toBeUndefined();
  });

  it('no Authorization header means anonymous, not an error', async () => {
    const response = await server.gqlAs(null, '{ users { totalCount } }');
    expect(response.errors).toBeUndefined();
  });

  const unsigned = (claims: object) =>
    `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

  const badHeaders: Array<[string, () => Promise<string>]> = [
    ['a non-Bearer scheme', async () => `Basic ${Buffer.from('admin:admin').toString('base64')}`],
    ['Bearer without a token', async () => 'Bearer '],
    ['a token that is not a JWT', async () => 'Bearer not-a-jwt'],
    ['an expired token', async () => `Bearer ${await signTestToken({ role: 'admin' }, { expiresIn: '-1m' })}`],
    ['a token signed with another secret', async () => `Bearer ${await signTestToken({ role: 'admin' }, { secret: 'x'.repeat(40) })}`],
    ['an alg: none token', async () => `Bearer ${unsigned({ sub: ADMIN_ID, role: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}`],
    ['a token with an unknown role', async () => `Bearer ${await signTestToken({ role: 'owner' as 'admin' })}`],
    ['a token whose sub is not a UUID', async () => `Bearer ${await signTestToken({ role: 'admin', sub: 'root' })}`],
    [
      'a token signed with the development secret while a real one is configured',
      async () => `Bearer ${await signTestToken({ role: 'admin' }, { secret: DEVELOPMENT_JWT_SECRET })}`,
    ],
  ];

  const signed = (claims: { iat?: number; exp?: number }) => {
    const token = new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(ADMIN_ID);
    if (claims.iat !== undefined) token.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) token.setExpirationTime(claims.exp);
    return token.sign(new TextEncoder().encode(TEST_JWT_SECRET));
  };
  const now = () => Math.floor(Date.now() / 1000);
  badHeaders.push(
    ['a token without exp, which would be valid forever', async () => `Bearer ${await signed({ iat: now() })}`],
    ['a token issued a year in the future', async () => `Bearer ${await signed({ iat: now() + 365 * 86_400, exp: now() + 366 * 86_400 })}`],
    ['a token issued five minutes in the future', async () => `Bearer ${await signed({ iat: now() + 300, exp: now() + 3600 })}`],
  );

  it('accepts a token whose iat is a few seconds ahead (clock skew) and one without iat', async () => {
    for (const claims of [{ iat: now() + 20, exp: now() + 3600 }, { exp: now() + 3600 }]) {
      const response = await server.gqlAs(`Bearer ${await signed(claims)}`, whoAmI);
      expect(response.errors).toBeUndefined();
    }
  });

  it('a token is verified once and then remembered, but refused as soon as it expires', async () => {
    const verify = createTokenVerifier(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).auth);
    const expiresAt = now() + 2;
    const header = `Bearer ${await signed({ iat: now(), exp: expiresAt })}`;
    const principal = await verify(header);
    expect(principal).toEqual({ role: 'admin', id: ADMIN_ID });
    // The same object: taken from memory, not verified again.
    expect(await verify(header)).toBe(principal);
    expect((await server.gqlAs(header, whoAmI)).errors).toBeUndefined();
    while (Date.now() / 1000 < expiresAt) await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(verify(header)).rejects.toThrow('Invalid or expired token');
    expect((await server.gqlAs(header, whoAmI)).status).toBe(401);
  });

  it.each(badHeaders)('%s is UNAUTHENTICATED with HTTP 401 for the whole request, never anonymous', async (_kind, header) => {
    const response = await server.gqlAs(await header(), '{ users { totalCount } }');
    expect(response.status).toBe(401);
    expect(response.data ?? null).toBeNull();
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0].extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('JWT_MAX_AGE', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ config: { auth: { ...loadConfig({ JWT_SECRET: TEST_JWT_SECRET, JWT_MAX_AGE: '10m' }).auth } } });
  });
  afterAll(() => server?.stop());

  const token = (iat: number | undefined) => {
    const jwt = new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(ADMIN_ID).setExpirationTime('1h');
    if (iat !== undefined) jwt.setIssuedAt(iat);
    return jwt.sign(new TextEncoder().encode(TEST_JWT_SECRET));
  };

  it('accepts a token issued within the maximum age', async () => {
    const response = await server.gqlAs(`Bearer ${await token(Math.floor(Date.now() / 1000) - 60)}`, whoAmI);
    expect(response.errors).toBeUndefined();
  });

  it('refuses a token that passes the maximum age while remembered as verified', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 598;
    const header = `Bearer ${await token(issuedAt)}`;
    expect((await server.gqlAs(header, whoAmI)).errors).toBeUndefined();
    while (Date.now() / 1000 <= issuedAt + 600) await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await server.gqlAs(header, whoAmI)).status).toBe(401);
  });

  it.each([
    ['issued eleven minutes ago, though not yet expired', () => Math.floor(Date.now() / 1000) - 660],
    ['without iat, so its age is unknown', () => undefined],
  ])('refuses a token %s', async (_kind, iat) => {
    const response = await server.gqlAs(`Bearer ${await token(iat())}`, whoAmI);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});

describe('RS256 / ES256 tokens from a JWKS', () => {
  let server: TestServer;
  let jwks: http.Server;
  let rsa: { privateKey: CryptoKey; publicJwk: JWK };
  let ec: { privateKey: CryptoKey; publicJwk: JWK };
  const issuer = 'https://issuer.test';
  const audience = 'trash-graphql';

  async function keyPair(alg: 'RS256' | 'ES256', kid: string) {
    const { privateKey, publicKey } = await generateKeyPair(alg);
    return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }

  function sign(alg: 'RS256' | 'ES256', key: { privateKey: CryptoKey; publicJwk: JWK }, claims: { iss?: string; aud?: string; role?: string } = {}) {
    return new SignJWT({ role: claims.role ?? 'admin' })
      .setProtectedHeader({ alg, kid: key.publicJwk.kid })
      .setSubject(ADMIN_ID)
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? audience)
      .setExpirationTime('5m')
      .sign(key.privateKey);
  }

  beforeAll(async () => {
    rsa = await keyPair('RS256', 'rsa-1');
    ec = await keyPair('ES256', 'ec-1');
    jwks = http.createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [rsa.publicJwk, ec.publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    server = await startTestServer({
      config: { auth: { secret: undefined, jwksUrl, issuer, audience, usingDevelopmentSecret: false, maxAgeS: undefined } },
    });
  });
  afterAll(async () => {
    await server?.stop();
    jwks?.close();
  });

  it.each(['RS256', 'ES256'] as const)('accepts a %s token signed by a key of the set', async (alg) => {
    const response = await server.gqlAs(`Bearer ${await sign(alg, alg === 'RS256' ? rsa : ec)}`, whoAmI);
    expect(response.errors).toBeUndefined();
  });

  it('rejects HS256 tokens, a wrong issuer, a wrong audience and keys outside the set', async () => {
    const stranger = await keyPair('RS256', 'rsa-1');
    const headers = [
      `Bearer ${await signTestToken({ role: 'admin' })}`,
      `Bearer ${await sign('RS256', rsa, { iss: 'https://evil.test' })}`,
      `Bearer ${await sign('RS256', rsa, { aud: 'another-api' })}`,
      `Bearer ${await sign('RS256', stranger)}`,
    ];
    for (const header of headers) {
      const response = await server.gqlAs(header, '{ users { totalCount } }');
      expect(response.status).toBe(401);
      expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('npm run token', () => {
  const env = { JWT_SECRET: TEST_JWT_SECRET };

  it('prints an admin token for the configured secret, with a stable default subject', async () => {
    const token = await runTokenCommand(['--role', 'admin'], env);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_JWT_SECRET));
    expect(payload).toMatchObject({ role: 'admin', sub: DEFAULT_ADMIN_SUB });
    expect(payload.exp! - payload.iat!).toBe(3600);
  });

  it('prints a member token for a given user and lifetime', async () => {
    const sub = '01a22707-24fa-704a-98e8-84899992cb39';
    const token = await runTokenCommand(['--role', 'member', '--sub', sub, '--ttl', '30m'], env);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(TEST_JWT_SECRET));
    expect(payload).toMatchObject({ role: 'member', sub });
    expect(payload.exp! - payload.iat!).toBe(1800);
  });

  it('uses the development secret when none is configured', async () => {
    const token = await runTokenCommand(['--role', 'admin'], {});
    await expect(jwtVerify(token, new TextEncoder().encode(DEVELOPMENT_JWT_SECRET))).resolves.toBeDefined();
  });

  it.each([
    [['--role', 'root'], /--role must be admin or member/],
    [['--role', 'member'], /needs --sub/],
    [['--role', 'admin', '--sub', 'me'], /--sub must be a UUID/],
    [['--role', 'admin', '--ttl', 'forever'], /--ttl must look like/],
  ])('refuses %j with a usage message', async (argv, message) => {
    await expect(runTokenCommand(argv, env)).rejects.toThrow(message);
  });
});
