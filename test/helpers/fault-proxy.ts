import net from 'node:net';

/**
 * A TCP proxy between the server and its PostgreSQL that can misbehave as a
 * network or a database does: `freeze()` keeps every connection open but
 * delivers nothing either way (a frozen or partitioned database: new
 * connections are accepted and never answered), `refuse()` drops every
 * connection and resets new ones, `heal()` returns to normal.
 */
export interface FaultProxy {
  /** The database URL through the proxy. */
  readonly url: string;
  freeze(): void;
  refuse(): void;
  heal(): void;
  close(): Promise<void>;
}

type Mode = 'pass' | 'frozen' | 'refusing';

interface Pipe {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes held back while frozen, in arrival order, with where they go. */
  held: Array<{ to: net.Socket; chunk: Buffer }>;
}

export async function startFaultProxy(databaseUrl: string): Promise<FaultProxy> {
  const target = new URL(databaseUrl);
  let mode: Mode = 'pass';
  const pipes = new Set<Pipe>();

  const forward = (pipe: Pipe, to: net.Socket, chunk: Buffer) => {
    if (mode === 'frozen') pipe.held.push({ to, chunk });
    else if (!to.destroyed) to.write(chunk);
  };
  const drop = (pipe: Pipe) => {
    pipe.client.destroy();
    pipe.upstream.destroy();
    pipes.delete(pipe);
  };

  const server = net.createServer((client) => {
    if (mode === 'refusing') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
    const pipe: Pipe = { client, upstream, held: [] };
    pipes.add(pipe);
    client.on('data', (chunk: Buffer) => forward(pipe, upstream, chunk));
    upstream.on('data', (chunk: Buffer) => forward(pipe, client, chunk));
    // A side that goes away takes the other with it, as a real connection does.
    for (const socket of [client, upstream]) {
      socket.on('error', () => drop(pipe));
      socket.on('close', () => drop(pipe));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);

  return {
    url: url.toString(),
    freeze: () => {
      mode = 'frozen';
    },
    refuse: () => {
      mode = 'refusing';
      for (const pipe of [...pipes]) drop(pipe);
    },
    heal: () => {
      mode = 'pass';
      for (const pipe of pipes) {
        for (const { to, chunk } of pipe.held.splice(0)) if (!to.destroyed) to.write(chunk);
      }
    },
    close: async () => {
      for (const pipe of [...pipes]) drop(pipe);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
