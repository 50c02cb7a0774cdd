import type { EntityManager } from '@mikro-orm/postgresql';
import type { TrashSettings } from '../config';

/** Source of "now"; tests pass their own to control time. */
export type Clock = () => Date;

/** Who is acting, when, and under which trash settings: what every service receives for one request. */
export interface ServiceContext {
  em: EntityManager;
  clock: Clock;
  /** Id of the acting principal; null when anonymous or the system acts. */
  actorId: string | null;
  trash: TrashSettings;
}
