import { ReferenceKind, type EntityMetadata } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { columnTypeOf, quote, type NamedParameters } from '../db/compiled/read-sql';
import { isUuid, newId } from '../db/ids';
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

/**
 * An INSERT of one audit event, every column bound by name (`audit.<property>`,
 * as `AuditLog.values` gives them) except `affected`, given as SQL.
 */
export function auditInsertSql(meta: EntityMetadata, params: NamedParameters, affected: string): string {
  const columns = meta.props.filter((prop) => prop.fieldNames?.length === 1 && prop.kind === ReferenceKind.SCALAR);
  const values = columns.map((prop) => (prop.name === 'affected' ? affected : params.take(`audit.${prop.name}`, columnTypeOf(meta, prop.name))));
  return `insert into ${quote(meta.tableName)} (${columns.map((prop) => quote(prop.fieldNames[0])).join(', ')}) values (${values.join(', ')})`;
}

/** Writes audit events inside the caller's transaction, and lists them. */
export class AuditLog {
  constructor(private readonly context: ServiceContext) {}

  /** Queues the event on `em`: it is written by the same flush, or transaction, as the change it describes. */
  record(em: EntityManager, entry: AuditEntry): AuditEvent {
    const event = em.create(AuditEvent, this.eventOf(entry));
    em.persist(event);
    return event;
  }

  /**
   * The event's columns as named values, for a compiled statement that writes
   * it together with its change (`auditInsertSql`); `affected` is the statement's to count.
   */
  values(entry: Omit<AuditEntry, 'affected'>): Record<string, unknown> {
    const event = { id: newId(), ...this.eventOf({ ...entry, affected: 0 }) };
    return Object.fromEntries(Object.entries(event).map(([property, value]) => [`audit.${property}`, property === 'renames' && value ? JSON.stringify(value) : value]));
  }

  private eventOf(entry: AuditEntry) {
    const { renames, ...rest } = entry;
    return {
      ...rest,
      renames: renames?.length
        ? renames.map((rename) => ({ entityType: rename.item.constructor.name, entityId: rename.item.id, field: rename.field, from: rename.from, to: rename.to }))
        : null,
      deletionId: entry.deletionId ?? null,
      reason: entry.reason ?? null,
      actorId: this.context.access.actorId,
      at: this.context.clock(),
    };
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
    return listKeysetPage(this.context.reads, { entity: AuditEvent, order: newestFirst, where, first: args.first, after: args.after }, args.entityId);
  }
}
