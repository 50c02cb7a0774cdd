import { ApolloServer, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { mergedPlugins, type RequestPlugin } from '../src/graphql/request-plugins';

const typeDefs = 'type Query { hello: String }';
const resolvers = { Query: { hello: () => 'world' } };

/** A plugin that records its hooks in `calls` as `<name>.<hook>`. */
function recording(name: string, calls: string[], hooks: Array<keyof GraphQLRequestListener<BaseContext>>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      calls.push(`${name}.requestDidStart`);
      const listener: Record<string, () => Promise<void>> = {};
      for (const hook of hooks) {
        listener[hook] = async () => {
          calls.push(`${name}.${hook}`);
        };
      }
      return listener as GraphQLRequestListener<BaseContext>;
    },
  };
}

async function run(plugin: ApolloServerPlugin, query = '{ hello }') {
  const server = new ApolloServer({ typeDefs, resolvers, plugins: [plugin] });
  await server.start();
  try {
    const response = await server.executeOperation({ query });
    return response.body.kind === 'single' ? response.body.singleResult : undefined;
  } finally {
    await server.stop();
  }
}

describe('mergedPlugins', () => {
  it('runs every plugin’s hooks, in the order the plugins are given', async () => {
    const calls: string[] = [];
    const result = await run(
      mergedPlugins([
        recording('a', calls, ['didResolveOperation', 'willSendResponse']),
        recording('b', calls, ['willSendResponse']),
        recording('c', calls, ['didResolveOperation', 'willSendResponse']),
      ]),
    );
    expect(result?.data).toEqual({ hello: 'world' });
    expect(calls).toEqual([
      'a.requestDidStart',
      'b.requestDidStart',
      'c.requestDidStart',
      'a.didResolveOperation',
      'c.didResolveOperation',
      'a.willSendResponse',
      'b.willSendResponse',
      'c.willSendResponse',
    ]);
  });

  it('gives Apollo one listener holding only the hooks some plugin has', async () => {
    const calls: string[] = [];
    const merged = mergedPlugins([recording('a', calls, ['didResolveOperation']), recording('b', calls, ['didResolveOperation', 'didEncounterErrors'])]);
    const listener = await merged.requestDidStart!({} as never);
    expect(Object.keys(listener ?? {}).sort()).toEqual(['didEncounterErrors', 'didResolveOperation']);
    // A plugin alone keeps its own listener; no plugin with a listener, no listener.
    const alone = { async didResolveOperation() {} };
    expect(await mergedPlugins([{ requestDidStart: async () => alone }]).requestDidStart!({} as never)).toBe(alone);
    expect(await mergedPlugins([{ requestDidStart: async () => undefined }]).requestDidStart!({} as never)).toBeUndefined();
  });

  it('a hook that throws fails the request, and the other plugins’ hooks still run', async () => {
    const refusal = (where: string) => new GraphQLError(`refused ${where}`, { extensions: { code: 'REFUSED' } });
    const refusingNow: RequestPlugin = {
      requestDidStart: () => ({
        didResolveOperation() {
          throw refusal('synchronously');
        },
      }),
    };
    const refusingLater: ApolloServerPlugin = {
      async requestDidStart() {
        return {
          async didResolveOperation() {
            throw refusal('asynchronously');
          },
        };
      },
    };
    for (const refusing of [refusingNow, refusingLater]) {
      const calls: string[] = [];
      const result = await run(mergedPlugins([refusing, recording('after', calls, ['didResolveOperation', 'willSendResponse'])]));
      expect(result?.data).toBeUndefined();
      expect(result?.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([['REFUSED', refusing === refusingNow ? 'refused synchronously' : 'refused asynchronously']]);
      expect(calls).toEqual(['after.requestDidStart', 'after.didResolveOperation', 'after.willSendResponse']);
    }
  });

  it('plugins with nothing to wait for cost Apollo no promise', async () => {
    const calls: string[] = [];
    const synchronous = (name: string): RequestPlugin => ({
      requestDidStart: () => ({
        willSendResponse() {
          calls.push(name);
        },
      }),
    });
    const merged = mergedPlugins([synchronous('a'), synchronous('b')]);
    const listener = merged.requestDidStart!({} as never) as unknown as GraphQLRequestListener<BaseContext>;
    expect(listener).not.toBeInstanceOf(Promise);
    expect(listener.willSendResponse!({} as never)).toBeUndefined();
    expect(calls).toEqual(['a', 'b']);
    // Through Apollo, as in the server.
    calls.length = 0;
    expect((await run(merged))?.data).toEqual({ hello: 'world' });
    expect(calls).toEqual(['a', 'b']);
  });

  it('refuses what it cannot merge: other plugin hooks when given, other request hooks at the first request', async () => {
    expect(() => mergedPlugins([{ async contextCreationDidFail() {} }])).toThrow(/contextCreationDidFail is not merged/);
    const withServerListener: ApolloServerPlugin = { async serverWillStart() { return { async serverWillStop() {} }; } };
    const server = new ApolloServer({ typeDefs, resolvers, plugins: [mergedPlugins([withServerListener])] });
    await expect(server.start()).rejects.toThrow(/server listeners are not merged/);
    const calls: string[] = [];
    const merged = mergedPlugins([recording('a', calls, ['didResolveOperation']), recording('b', calls, ['executionDidStart'])]);
    await expect(merged.requestDidStart!({} as never)).rejects.toThrow(/request hook executionDidStart is not merged/);
  });

  it('runs the plugins’ serverWillStart', async () => {
    const started: string[] = [];
    const calls: string[] = [];
    const result = await run(
      mergedPlugins([
        { async serverWillStart() { started.push('one'); } },
        recording('a', calls, ['willSendResponse']),
        { async serverWillStart() { started.push('two'); } },
      ]),
    );
    expect(result?.data).toEqual({ hello: 'world' });
    expect(started).toEqual(['one', 'two']);
    expect(calls).toEqual(['a.requestDidStart', 'a.willSendResponse']);
  });
});
