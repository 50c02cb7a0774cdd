import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit.service';
import type { TrashSettings } from './config';
import { NodeService } from './modules/node/node.service';
import { PostService } from './modules/post/post.service';
import { trashPolicies } from './modules/trash-policies';
import { isLiveUser, UserService } from './modules/user/user.service';
import { Access } from './auth/access';
import type { Principal } from './auth/principal';
import type { Clock, ServiceContext } from './trash/service-context';
import type { TrashObserver } from './trash/trash-observer';
import { TrashBinService } from './trash/trash-bin.service';

export interface Services {
  users: UserService;
  posts: PostService;
  trashBin: TrashBinService;
  audit: AuditLog;
  nodes: NodeService;
}

/** What every resolver receives: the services for this request, bound to its own EntityManager fork. */
export interface RequestContext {
  services: Services;
  logger: Logger;
  /** From x-request-id or generated; in logs, the response header and masked errors. */
  requestId: string;
  /** Operation and error codes of this request, for its log line and metrics. */
  outcome?: { operation: string; errorCodes: string[] };
}

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

export function createServices(context: ServiceContext): Services {
  const audit = new AuditLog(context);
  return {
    users: new UserService(context),
    posts: new PostService(context),
    trashBin: new TrashBinService(context, trashPolicies),
    audit,
    nodes: new NodeService(context, trashPolicies, audit),
  };
}

export function createRequestContext(options: RequestContextFactoryOptions): RequestContext {
  // One fork per request: an identity map shared across requests would leak state between them.
  const em = options.em.fork();
  const access = new Access(options.principal, em, isLiveUser);
  const serviceContext: ServiceContext = { em, clock: options.clock, access, trash: options.trash, observer: options.observer };
  return { services: createServices(serviceContext), logger: options.logger, requestId: options.requestId, outcome: options.outcome };
}
