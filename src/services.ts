import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit.service';
import { Access } from './auth/access';
import type { Principal } from './auth/principal';
import type { TrashSettings } from './config';
import { ReadExecutor } from './db/compiled/read-executor';
import { PostService } from './modules/post/post.service';
import { trashPolicies } from './modules/trash-policies';
import { isLiveUser, UserService } from './modules/user/user.service';
import type { RequestContext, Services } from './request-context';
import type { Clock, ServiceContext } from './service-context';
import type { TrashObserver } from './trash/trash-observer';
import { TrashBinService } from './trash/trash-bin.service';

export interface RequestContextFactoryOptions {
  em: EntityManager;
  clock: Clock;
  trash: TrashSettings;
  logger: Logger;
  requestId: string;
  principal: Principal;
  outcome?: { operation: string; errorCodes: string[] };
  observer?: TrashObserver;
}

/** Every service, bound to one service context; the only place that builds them. */
export function createServices(context: ServiceContext): Services {
  const posts = new PostService(context);
  return {
    posts,
    users: new UserService(context, posts),
    trashBin: new TrashBinService(context, trashPolicies),
    audit: new AuditLog(context),
  };
}

export function createRequestContext(options: RequestContextFactoryOptions): RequestContext {
  // One fork per request: an identity map shared across requests would leak state between them.
  const em = options.em.fork();
  const access = new Access(options.principal, em, isLiveUser);
  // Every compiled read of the request goes through this one executor, on the same server as `em`.
  const serviceContext: ServiceContext = { em, reads: new ReadExecutor(em), clock: options.clock, access, trash: options.trash, observer: options.observer };
  return { services: createServices(serviceContext), logger: options.logger, requestId: options.requestId, outcome: options.outcome };
}
