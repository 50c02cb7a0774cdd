import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { nodeEnv: 'development' } });
});
afterAll(() => server?.stop());

describe('exploring the API in development', () => {
  it('GET /graphql from a browser shows the Apollo Sandbox landing page', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/sandbox/i);
  });

  it('answers introspection', async () => {
    const response = await server.gql('{ __schema { queryType { name } } }');
    expect(response.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it("lets Apollo's hosted Sandbox call a local server (CORS preflight and response)", async () => {
    const origin = 'https://studio.apollographql.com';
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ users { totalCount } }' }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('does not grant CORS to other origins', async () => {
    const response = await fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('keeps CSRF prevention on: a simple GET query without a preflight-forcing header is refused', async () => {
    const response = await fetch(`${server.url}?query=${encodeURIComponent('{ users { totalCount } }')}`);
    expect(response.status).toBe(400);
  });
});
