import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { UserService } from './modules/user/user.service';
import type { Clock, ServiceContext } from './trash/trash.service';

export interface Services {
  users: UserService;
}

/** What every resolver receives: the services for this request, bound to its own EntityManager fork. */
export interface RequestContext {
  services: Services;
  logger: Logger;
}

export function createRequestContext(em: EntityManager, clock: Clock, logger: Logger): RequestContext {
  // One fork per request: an identity map shared across requests would leak state between them.
  const serviceContext: ServiceContext = { em: em.fork(), clock, actorId: null };
  return { services: { users: new UserService(serviceContext) }, logger };
}
