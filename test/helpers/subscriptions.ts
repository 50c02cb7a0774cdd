import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const TRASH_EVENTS_SUBSCRIPTION = 'subscription { trashEvents { action deletionId items { id entityType } actorId at } }';

export interface TrashEventView {
  action: 'DELETE' | 'RESTORE' | 'PURGE';
  deletionId: string | null;
  items: Array<{ id: string; entityType: string }>;
  actorId: string | null;
  at: string;
}

/** One subscription over a WebSocket of its own, recording what arrives. */
export interface EventStream {
  readonly events: TrashEventView[];
  readonly errors: unknown[];
  /** Resolves with the close code when the server closes the connection. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The first event (already received or still to come) that matches, or a rejection after timeoutMs. */
  waitFor(matches: (event: TrashEventView) => boolean, timeoutMs?: number): Promise<TrashEventView>;
  /** The first error the subscription gets. */
  firstError(timeoutMs?: number): Promise<unknown>;
  client: Client;
  dispose(): Promise<void>;
}

/** Subscribes as the given Authorization value (null: anonymous); no automatic retries, so closes are seen as they are. */
export function subscribe(graphqlUrl: string, authorization: string | null, query = TRASH_EVENTS_SUBSCRIPTION): EventStream {
  const events: TrashEventView[] = [];
  const errors: unknown[] = [];
  const listeners = new Set<() => void>();
  let onClosed: (close: { code: number; reason: string }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
    on: { closed: (event) => onClosed(event as { code: number; reason: string }) },
  });
  const notify = () => listeners.forEach((listener) => listener());
  client.subscribe<{ trashEvents: TrashEventView }>(
    { query },
    {
      next: (result) => {
        if (result.data) events.push(result.data.trashEvents);
        if (result.errors) errors.push(...result.errors);
        notify();
      },
      error: (error) => {
        errors.push(error);
        notify();
      },
      complete: () => {},
    },
  );
  const until = <T>(probe: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = probe();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events so far: ${JSON.stringify(events)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return {
    events,
    errors,
    closed,
    client,
    waitFor: (matches, timeoutMs = 5000) => until(() => events.find(matches), timeoutMs, 'a matching event'),
    firstError: (timeoutMs = 5000) => until(() => errors[0], timeoutMs, 'an error'),
    dispose: () => client.dispose() as Promise<void>,
  };
}
