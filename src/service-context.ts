import type { EntityManager } from '@mikro-orm/postgresql';
import type { Access } from './auth/access';
import type { ReadExecutor } from './db/compiled/read-executor';
import type { TrashSettings } from './config';
import type { TrashObserver } from './trash/trash-observer';

/** Source of "now"; tests pass their own to control time. */
export type Clock = () => Date;

/** Who is acting, when, and under which trash settings: what every service receives for one request. */
export interface ServiceContext {
  em: EntityManager;
  /** Runs the compiled reads on `em`'s server (see db/compiled/). */
  reads: ReadExecutor;
  clock: Clock;
  /** Who is acting, and what it may do. */
  access: Access;
  trash: TrashSettings;
  /** Told about committed trash, restore and purge operations (logs, metrics). */
  observer?: TrashObserver;
}
