import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/audit.service';
import type { ReadExecutor } from './db/compiled/read-executor';
import type { NodeService } from './modules/node/node.service';
import type { PostService } from './modules/post/post.service';
import type { UserService } from './modules/user/user.service';
import type { TrashBinService } from './trash/trash-bin.service';

export interface Services {
  users: UserService;
  posts: PostService;
  trashBin: TrashBinService;
  audit: AuditLog;
  nodes: NodeService;
  /** The request's executor of compiled reads, which the services read through too. */
  reads: ReadExecutor;
}

/** What every resolver receives: the services for this request, bound to its own EntityManager fork. */
export interface RequestContext {
  /** Built on first use, on a fork of the server chosen for this request (the primary unless `readFrom` said otherwise). */
  readonly services: Services;
  /**
   * Makes a read-only request read from another server (a replica). Called
   * once the operation is known to be a query, before any resolver runs.
   */
  readFrom(em: EntityManager): void;
  logger: Logger;
  /** From x-request-id or generated; in logs, the response header and masked errors. */
  requestId: string;
  /** Operation and error codes of this request, for its log line and metrics. */
  outcome?: { operation: string; errorCodes: string[] };
}
