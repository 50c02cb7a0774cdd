import { Resolver, Root, Subscription } from 'type-graphql';
import type { TrashEventMessage } from '../../events/trash-event-bus';
import type { SubscriptionContext } from '../../http/subscriptions';
import { TrashEvent } from './trash-events.types';

@Resolver()
export class TrashEventsResolver {
  @Subscription(() => TrashEvent, {
    description:
      'Trash changes as they commit, on any instance (over WebSocket, graphql-ws protocol). Admins hear of every change; members only of their own records.',
    // Who may listen was decided when the connection was accepted (see http/subscriptions.ts).
    subscribe: ({ context }) => {
      const { principal, trashEvents } = context as SubscriptionContext;
      return trashEvents.subscribe(principal);
    },
  })
  trashEvents(@Root() message: TrashEventMessage): TrashEvent {
    return TrashEvent.from(message);
  }
}
