import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from '../db/ids';
import type { KeysetOrder } from '../db/keyset';
import { rowsToEntities } from '../db/rows';
import { listKeysetPage, type PageWithTotal } from '../graphql/keyset-page';
import type { ServiceContext } from '../service-context';
import { AuditAction, AuditEvent } from './audit-event.entity';

export interface AuditEntry {
  action: AuditAction;
  entityType: string;
  entityId: string;
  deletionId?: string | null;
  reason?: string | null;
  affected: number;
  /** Unique values a RENAME restore replaced. */
  renames?: ReadonlyArray<{ item: { id: string; constructor: { name: string } }; field: string; from: string; to: string }>;
}

// Served by audit_events_order_idx and, with an entity id, audit_events_entity_order_idx.
const newestFirst: KeysetOrder<AuditEvent> = { name: 'audit', sortProperty: 'at', where: {} };

/** Writes audit events inside the caller's transaction, and lists them. */
export class AuditLog {
  constructor(private readonly context: ServiceContext) {}

  /** Queues the event on `em`: it is written by the same flush, or transaction, as the change it describes. */
  record(em: EntityManager, entry: AuditEntry): AuditEvent {
    const { renames, ...rest } = entry;
    const event = em.create(AuditEvent, {
      ...rest,
      renames: renames?.length
        ? renames.map((rename) => ({ entityType: rename.item.constructor.name, entityId: rename.item.id, field: rename.field, from: rename.from, to: rename.to }))
        : null,
      deletionId: entry.deletionId ?? null,
      reason: entry.reason ?? null,
      actorId: this.context.access.actorId,
      at: this.context.clock(),
    });
    em.persist(event);
    return event;
  }

  /**
   * Events by id, for `node`: admins only, like the listing. For anyone else
   * no event exists, so an event id tells nothing about the trail.
   */
  async findByIds(ids: readonly string[]): Promise<Map<string, AuditEvent>> {
    const uuids = [...new Set(ids.filter(isUuid))];
    if (!this.context.access.isAdmin || uuids.length === 0) return new Map();
    const { em } = this.context;
    const rows = await em
      .createQueryBuilder(AuditEvent, 'e')
      .select('*')
      .where({ id: { $in: uuids } })
      .execute<Array<Record<string, unknown>>>('all', false);
    return new Map(rowsToEntities(em, AuditEvent, rows).map((event) => [event.id, event]));
  }

  /** Admins only: the trail tells who did what to whom. */
  async list(args: { first: number; after?: string | null; entityId?: string | null }): Promise<PageWithTotal<AuditEvent>> {
    this.context.access.requireAdmin();
    const where = args.entityId != null ? { entityId: args.entityId } : {};
    return listKeysetPage(this.context.em, { entity: AuditEvent, order: newestFirst, where, first: args.first, after: args.after }, args.entityId);
  }
}
