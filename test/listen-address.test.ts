import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { TEST_JWT_SECRET } from './helpers/auth';
import { startTestServer, type TestServer } from './helpers/test-server';

/** An address of this machine that other hosts could reach, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

describe('the address the server listens on', () => {
  const external = externalAddress();

  it('with the public development secret: loopback only, even when HOST asks for every interface, and the log says so', async () => {
    const { logger, lines } = capturingLogger();
    const config = loadConfig({ NODE_ENV: 'development', HOST: '0.0.0.0' });
    const server = await startTestServer({ config: { host: config.host, auth: config.auth }, logger });
    servers.push(server);
    const port = Number(new URL(server.url).port);
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    expect(await connects('127.0.0.1', port)).toBe(true);
    if (external) expect(await connects(external, port)).toBe(false);
    const warning = lines.find((line) => String(line.msg).includes('development secret'));
    expect(warning).toMatchObject({ host: '127.0.0.1' });
    expect(String(warning?.msg)).toMatch(/listens on 127\.0\.0\.1 only/);
  });

  it('with a real secret: every interface by default', async () => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET });
    const server = await startTestServer({ config: { host: config.host } });
    servers.push(server);
    const port = Number(new URL(server.url).port);
    expect(new URL(server.url).hostname).toBe('localhost');
    if (external) expect(await connects(external, port)).toBe(true);
    expect(await connects('127.0.0.1', port)).toBe(true);
  });

  it('with a real secret: HOST=127.0.0.1 keeps it on the loopback interface', async () => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, HOST: '127.0.0.1' });
    const server = await startTestServer({ config: { host: config.host } });
    servers.push(server);
    const port = Number(new URL(server.url).port);
    expect(await connects('127.0.0.1', port)).toBe(true);
    if (external) expect(await connects(external, port)).toBe(false);
  });
});
