import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, ResponseTooLargeError } from '../errors';

/**
 * Fails a request whose answer grows past `maxBytes` while it is being built,
 * rather than after: every field adds its name and, for text, its value to a
 * running total (an estimate of the JSON size, close enough to bound memory),
 * and once the total is over, every further field fails at once without
 * running its resolver. The client then gets one RESPONSE_TOO_LARGE error and
 * no data.
 */
export function responseSizeLimitPlugin(maxBytes: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      let bytes = 0;
      let exceeded = false;
      const count = (_error: Error | null, result?: unknown) => {
        if (typeof result === 'string') bytes += result.length + 2;
        if (bytes > maxBytes) exceeded = true;
      };
      return {
        async executionDidStart() {
          return {
            willResolveField({ info }) {
              if (exceeded) throw new ResponseTooLargeError(maxBytes);
              bytes += String(info.path.key).length + 4;
              return count;
            },
          };
        },
        async willSendResponse({ response }) {
          if (!exceeded || response.body.kind !== 'single') return;
          response.body.singleResult = {
            errors: [{ message: new ResponseTooLargeError(maxBytes).message, extensions: { code: ErrorCode.ResponseTooLarge, limit: maxBytes } }],
          };
        },
      };
    },
  };
}
