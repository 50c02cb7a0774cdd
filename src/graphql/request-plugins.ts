import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext, GraphQLRequestListener, GraphQLServerContext } from '@apollo/server';

/**
 * The per-request hooks that are notifications: Apollo Server awaits them and
 * ignores what they return, so several listeners' hooks can run as one.
 */
const NOTIFICATION_HOOKS = ['didResolveSource', 'didResolveOperation', 'didEncounterErrors', 'willSendResponse', 'didEncounterSubsequentErrors', 'willSendSubsequentPayload'] as const;
type NotificationHook = (typeof NOTIFICATION_HOOKS)[number];

/** A request's notification hooks, as Apollo's, but free to return nothing when they have nothing to wait for. */
export type RequestListener<TContext extends BaseContext> = {
  [Hook in NotificationHook]?: (...args: Parameters<NonNullable<GraphQLRequestListener<TContext>[Hook]>>) => void | Promise<void>;
};

/**
 * An Apollo Server plugin as this project writes them: synchronous unless it
 * must wait for something (an async function costs a promise per call, and
 * these run on every request), and using notification hooks only. Given to
 * Apollo Server through `mergedPlugins`.
 */
export interface RequestPlugin<TContext extends BaseContext = BaseContext> {
  serverWillStart?(service: GraphQLServerContext): void;
  requestDidStart(context: GraphQLRequestContext<TContext>): RequestListener<TContext> | undefined;
}

type Notify = (...args: unknown[]) => void | Promise<void>;
type AnyPlugin<TContext extends BaseContext> = ApolloServerPlugin<TContext> | RequestPlugin<TContext>;

/**
 * Several plugins as one. Apollo Server calls every hook of every request
 * listener on every request, each through an async function and a
 * `Promise.all` (and `responseForOperation` one listener after the other),
 * whether the listener has that hook or not: with seven listeners, and the
 * plugins' own async functions, that was over half of the 160 promises a bare
 * `{ __typename }` request created. On Node 20, once anything has entered an
 * AsyncLocalStorage (MikroORM does on every write), every promise also runs a
 * promise hook. Merged, Apollo sees one listener, a hook none of the plugins
 * has does not exist, and hooks that have nothing to wait for create no promise.
 *
 * The hooks run in the order of `plugins`. As under Apollo's `Promise.all`,
 * every plugin's hook runs even when an earlier one throws, and the request
 * then fails with the first error. Only notification hooks and a
 * `serverWillStart` without a server listener are merged; a plugin using any
 * other hook is refused when it is given here, or at its first request: give
 * it to Apollo Server on its own.
 */
export function mergedPlugins<TContext extends BaseContext>(plugins: AnyPlugin<TContext>[]): ApolloServerPlugin<TContext> {
  for (const plugin of plugins) {
    const other = Object.keys(plugin).filter((key) => key !== 'requestDidStart' && key !== 'serverWillStart');
    if (other.length > 0) throw new Error(`mergedPlugins: ${other.join(', ')} is not merged; give this plugin to Apollo Server on its own`);
  }
  const starting = plugins.filter((plugin) => plugin.serverWillStart);
  const requesting = plugins.filter((plugin) => plugin.requestDidStart);
  const merged: ApolloServerPlugin<TContext> = {
    requestDidStart(context) {
      let pending = false;
      const started = requesting.map((plugin) => {
        const listener = (plugin.requestDidStart as (context: GraphQLRequestContext<TContext>) => unknown)(context);
        pending ||= isPromise(listener);
        return listener as RequestListener<TContext> | Promise<RequestListener<TContext> | undefined> | undefined;
      });
      // Apollo awaits what this returns; a listener needs no promise around it when no plugin made one.
      const listener = pending ? Promise.all(started).then(mergedListener) : mergedListener(started as Array<RequestListener<TContext> | undefined>);
      return listener as Promise<GraphQLRequestListener<TContext> | undefined>;
    },
  };
  if (starting.length > 0) {
    merged.serverWillStart = async (service) => {
      for (const plugin of starting) {
        if (await plugin.serverWillStart!(service)) throw new Error('mergedPlugins: server listeners are not merged; give this plugin to Apollo Server on its own');
      }
    };
  }
  return merged;
}

function mergedListener<TContext extends BaseContext>(started: Array<RequestListener<TContext> | GraphQLRequestListener<TContext> | undefined | void>): RequestListener<TContext> | undefined {
  const listeners = started.filter((listener) => listener !== undefined).map(checked);
  if (listeners.length === 0) return undefined;
  if (listeners.length === 1) return listeners[0];
  const merged: RequestListener<TContext> = {};
  for (const hook of NOTIFICATION_HOOKS) {
    const having = listeners.filter((listener) => listener[hook]).map((listener) => (listener[hook] as Notify).bind(listener));
    if (having.length === 1) (merged[hook] as Notify) = having[0];
    else if (having.length > 1) (merged[hook] as Notify) = notifyAll(having);
  }
  return merged;
}

/** Calls every hook, in order, even when one throws; waits only when one returns a promise; fails with the first error. */
function notifyAll(hooks: Notify[]): Notify {
  return (...args) => {
    let waiting: Array<Promise<void>> | undefined;
    let failure: { error: unknown } | undefined;
    for (const hook of hooks) {
      try {
        const result = hook(...args);
        if (result) (waiting ??= []).push(result);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (!waiting) {
      if (failure) throw failure.error;
      return;
    }
    return Promise.all(waiting).then(() => {
      if (failure) throw failure.error;
    });
  };
}

/** A listener with a hook that is not a notification cannot be merged: refused loudly, not skipped. */
function checked<TContext extends BaseContext>(listener: RequestListener<TContext> | GraphQLRequestListener<TContext>): RequestListener<TContext> {
  for (const key of Object.keys(listener)) {
    if (!(NOTIFICATION_HOOKS as readonly string[]).includes(key)) {
      throw new Error(`mergedPlugins: the request hook ${key} is not merged; give this plugin to Apollo Server on its own`);
    }
  }
  return listener as RequestListener<TContext>;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}
