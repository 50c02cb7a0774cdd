import pg from 'pg';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { Clock } from '../service-context';
import type { TrashChange, TrashObserver } from '../trash/trash-observer';

/** The PostgreSQL notification channel every instance listens on. */
export const TRASH_EVENTS_CHANNEL = 'trash_events';

/** One record an event is about; `ownerId` decides which members hear of it and is never sent to clients. */
export interface TrashEventItem {
  id: string;
  entityType: string;
  ownerId: string | null;
}

/** What travels through NOTIFY and reaches subscribers. */
export interface TrashEventMessage {
  action: TrashChange['action'];
  deletionId: string | null;
  items: TrashEventItem[];
  actorId: string | null;
  /** ISO 8601: the message is JSON. */
  at: string;
}

/**
 * NOTIFY payloads are limited to 8,000 bytes; an item takes about 100, so a
 * change with more records (a bulk delete, a retention batch) is sent as
 * several events with the same action and deletion id.
 */
const ITEMS_PER_NOTIFICATION = 40;
/** Events a subscriber may leave unread before its subscription fails instead of growing without bound. */
const MAX_UNREAD_EVENTS = 1000;
const RECONNECT_DELAY_MIN_MS = 100;
const RECONNECT_DELAY_MAX_MS = 5000;

export interface TrashEventBusOptions {
  /** The database every instance shares; the bus keeps two connections of its own there: LISTEN and NOTIFY. */
  connectionString: string;
  logger: Logger;
  clock: Clock;
  /**
   * Told of each NOTIFY as it is sent (before the change's response), so the
   * SQL log shows every statement the server sends, in the request that sent it.
   */
  statementSent?: (text: string, values: unknown[]) => void;
}

type InterruptionListener = () => void;

const NOTIFY = 'select pg_notify($1, $2)';

/**
 * Trash events across instances, through PostgreSQL LISTEN/NOTIFY: each
 * committed change is sent as NOTIFY, and every instance (this one included)
 * hears it on a dedicated LISTEN connection and hands it to its subscribers.
 *
 * While that connection is down, events cannot be heard; instead of letting
 * subscribers believe nothing happened, the bus tells its interruption
 * listeners (which end every subscription) and refuses new subscriptions
 * until it listens again.
 */
export class TrashEventBus implements TrashObserver {
  private client: pg.Client | undefined;
  /**
   * NOTIFY goes through a connection of its own, not the application's pool:
   * it never waits behind requests, and a request's statements stay its own.
   * A pool of one replaces a broken connection by itself.
   */
  private readonly publisher: pg.Pool;
  private listening = false;
  private stopped = false;
  private reconnectDelayMs = RECONNECT_DELAY_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly subscribers = new Set<EventQueue>();
  private readonly interruptionListeners = new Set<InterruptionListener>();

  constructor(private readonly options: TrashEventBusOptions) {
    this.publisher = new pg.Pool({ connectionString: options.connectionString, max: 1, application_name: 'trash-events-publisher' });
    this.publisher.on('error', (error) => options.logger.warn({ err: error }, 'trash events: publishing connection lost'));
  }

  /** True while the LISTEN connection is up: only then can a subscription promise to hear every event. */
  get isListening(): boolean {
    return this.listening;
  }

  /** Connects and listens; fails if the database cannot be reached at start-up. */
  async start(): Promise<void> {
    await this.listen();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    for (const queue of this.subscribers) queue.end();
    const client = this.client;
    this.client = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
    await this.publisher.end().catch(() => undefined);
  }

  /** Called when listening stops unexpectedly; returns the unsubscribe function. */
  onInterruption(listener: InterruptionListener): () => void {
    this.interruptionListeners.add(listener);
    return () => this.interruptionListeners.delete(listener);
  }

  /** Publishes a committed change to every instance. Failures are logged: the change itself has already committed. */
  trashChanged(change: TrashChange): void {
    for (const message of toMessages(change, this.options.clock())) {
      const values = [TRASH_EVENTS_CHANNEL, JSON.stringify(message)];
      this.options.statementSent?.(NOTIFY, values);
      this.publisher.query(NOTIFY, values).catch((error: unknown) => {
        this.options.logger.error({ err: error, action: change.action, deletionId: change.deletionId }, 'trash event could not be published');
      });
    }
  }

  /**
   * The events this principal may see, as they arrive: everything for an
   * admin; for a member, only the items it owns (events with none are skipped).
   */
  subscribe(principal: Principal): AsyncIterableIterator<TrashEventMessage> {
    const queue = new EventQueue((message) => visibleTo(principal, message), () => this.subscribers.delete(queue));
    this.subscribers.add(queue);
    return queue;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true, application_name: 'trash-events' });
    client.on('notification', (notification) => this.deliver(notification.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`listen ${TRASH_EVENTS_CHANNEL}`);
    } catch (error) {
      this.client = undefined;
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = true;
    this.reconnectDelayMs = RECONNECT_DELAY_MIN_MS;
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.listening = false;
    client.end().catch(() => undefined);
    this.options.logger.warn({ err: error }, 'trash events: LISTEN connection lost; ending subscriptions and reconnecting');
    for (const listener of this.interruptionListeners) listener();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.listen().then(
        () => this.options.logger.info('trash events: listening again'),
        (error: unknown) => {
          this.options.logger.warn({ err: error, retryInMs: this.reconnectDelayMs }, 'trash events: reconnect failed');
          this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_DELAY_MAX_MS);
          if (!this.stopped) this.scheduleReconnect();
        },
      );
    }, this.reconnectDelayMs);
  }

  private deliver(payload: string | undefined): void {
    let message: TrashEventMessage;
    try {
      message = JSON.parse(payload ?? '') as TrashEventMessage;
    } catch {
      this.options.logger.warn('trash events: ignored a notification that is not an event');
      return;
    }
    for (const queue of this.subscribers) queue.push(message);
  }
}

/** The change as one or more messages of at most ITEMS_PER_NOTIFICATION items. */
function toMessages(change: TrashChange, at: Date): TrashEventMessage[] {
  const items = change.ids.map((id, index) => ({ id, entityType: change.entityType, ownerId: change.ownerIds?.[index] ?? null }));
  const messages: TrashEventMessage[] = [];
  for (let start = 0; start < items.length; start += ITEMS_PER_NOTIFICATION) {
    messages.push({
      action: change.action,
      deletionId: change.deletionId ?? null,
      items: items.slice(start, start + ITEMS_PER_NOTIFICATION),
      actorId: change.actorId,
      at: at.toISOString(),
    });
  }
  return messages;
}

/** The message as this principal may see it, or undefined when none of it is its business. */
function visibleTo(principal: Principal, message: TrashEventMessage): TrashEventMessage | undefined {
  if (principal.role === 'admin' || principal.role === 'system') return message;
  if (principal.role === 'anonymous') return undefined;
  const items = message.items.filter((item) => item.ownerId === principal.id);
  return items.length > 0 ? { ...message, items } : undefined;
}

/** One subscriber's unread events, read as an async iterator by the GraphQL subscription. */
class EventQueue implements AsyncIterableIterator<TrashEventMessage> {
  private readonly unread: TrashEventMessage[] = [];
  private waiting: ((result: IteratorResult<TrashEventMessage>) => void) | undefined;
  private failure: Error | undefined;
  private done = false;

  constructor(
    private readonly select: (message: TrashEventMessage) => TrashEventMessage | undefined,
    private readonly onEnd: () => void,
  ) {}

  push(message: TrashEventMessage): void {
    if (this.done) return;
    const visible = this.select(message);
    if (!visible) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: visible, done: false });
    } else if (this.unread.length >= MAX_UNREAD_EVENTS) {
      this.failure = new Error(`More than ${MAX_UNREAD_EVENTS} trash events were left unread; subscribe again and refetch`);
      this.end();
    } else {
      this.unread.push(visible);
    }
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd();
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<TrashEventMessage>> {
    if (this.failure) return Promise.reject(this.failure);
    const value = this.unread.shift();
    if (value) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<TrashEventMessage>> {
    this.unread.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TrashEventMessage> {
    return this;
  }
}
