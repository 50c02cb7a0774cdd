import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit.service';
import { Access } from './auth/access';
import type { Principal } from './auth/principal';
import type { TrashSettings } from './config';
import { ReadExecutor } from './db/compiled/read-executor';
import { NodeService } from './modules/node/node.service';
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
  const audit = new AuditLog(context);
  return {
    posts,
    users: new UserService(context, posts),
    trashBin: new TrashBinService(context, trashPolicies),
    audit,
    nodes: new NodeService(context, trashPolicies, audit),
    reads: context.reads,
  };
}

/** Per server, the fork compiled reads use: they take its metadata, logger and connection pool, never its identity map, so requests share it. */
const compiledReadForks = new WeakMap<EntityManager, EntityManager>();

function compiledReadsEm(server: EntityManager): EntityManager {
  let em = compiledReadForks.get(server);
  if (!em) compiledReadForks.set(server, (em = server.fork()));
  return em;
}

export function createRequestContext(options: RequestContextFactoryOptions): RequestContext {
  return new LazyRequestContext(options);
}

/**
 * Services are built on first use, so that a query can be pointed at a
 * replica once its operation type is known. A class, not an object literal
 * with a getter: Apollo copies the context's own properties, which would run
 * the getter at once.
 */
class LazyRequestContext implements RequestContext {
  readonly logger: Logger;
  readonly requestId: string;
  readonly outcome?: { operation: string; errorCodes: string[] };
  private server: EntityManager;
  private built: Services | undefined;

  constructor(private readonly options: RequestContextFactoryOptions) {
    this.logger = options.logger;
    this.requestId = options.requestId;
    this.outcome = options.outcome;
    this.server = options.em;
  }

  get services(): Services {
    if (!this.built) {
      // One fork per request: an identity map shared across requests would leak state between them. It is made
      // when first needed (a write, an ORM read, a member's access check): a request that only runs compiled
      // reads never pays for one.
      const server = this.server;
      let forked: EntityManager | undefined;
      const requestEm = () => (forked ??= server.fork());
      const { clock, trash, observer } = this.options;
      const context: ServiceContext = {
        get em() {
          return requestEm();
        },
        // Every compiled read of the request goes through this one executor, on the request's server.
        reads: new ReadExecutor(compiledReadsEm(server)),
        clock,
        access: new Access(this.options.principal, requestEm, isLiveUser),
        trash,
        observer,
      };
      this.built = createServices(context);
    }
    return this.built;
  }

  readFrom(em: EntityManager): void {
    if (this.built) throw new Error('readFrom must be called before the services are used');
    this.server = em;
  }
}
