import { ReferenceKind, type EntityMetadata } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { columnTypeOf, compiledNamedStatement, quote, type NamedParameters } from '../db/compiled/read-sql';
import { transactionRows } from '../db/compiled/transaction-statements';
import { isUuid, newId } from '../db/ids';
import type { KeysetOrder } from '../db/keyset';
import { rowsToEntities } from '../db/rows';
import { listKeysetPage, type PageWithTotal } from '../graphql/keyset-page';
import type { ServiceContext } from '../service-context';
import { AuditAction, AuditEvent, type AuditRename } from './audit-event.entity';

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

/** The columns each event of a change's compiled INSERT has of its own; the others are the same for all of them. */
const PER_EVENT = ['id', 'entityId', 'renames'];

/**
 * An INSERT of audit events, for a compiled statement: the columns named in
 * `perEvent` come from `unnest` over the arrays bound as `audit.<property>`
 * (`AuditLog.values` binds `id`, `entityId` and `renames`), named
 * `"event"."<property>"`; the other columns are bound once for every event,
 * except `computed` ones (a change's `affected`), the statement's own SQL
 * over `"event"` and what its `joins` add.
 */
export function auditInsertSql(
  meta: EntityMetadata,
  params: NamedParameters,
  options: { computed?: Partial<Record<keyof AuditEvent, string>>; joins?: string; perEvent?: readonly string[] },
): string {
  const columns = eventColumns(meta);
  const computed = (options.computed ?? {}) as Record<string, string | undefined>;
  const perEvent = options.perEvent ?? PER_EVENT;
  const arrays = perEvent.map((property) => params.take(`audit.${property}`, `${columnTypeOf(meta, property)}[]`));
  const values = columns.map((prop) => {
    if (computed[prop.name]) return computed[prop.name];
    if (perEvent.includes(prop.name)) return `"event".${quote(prop.name)}`;
    return params.take(`audit.${prop.name}`, columnTypeOf(meta, prop.name));
  });
  return `insert into ${quote(meta.tableName)} (${columns.map((prop) => quote(prop.fieldNames[0])).join(', ')})
    select ${values.join(', ')} from unnest(${arrays.join(', ')}) as "event"(${perEvent.map((property) => quote(property)).join(', ')})${options.joins ? ` ${options.joins}` : ''}`;
}

/** Every column of an audit event. */
function eventColumns(meta: EntityMetadata) {
  return meta.props.filter((prop) => prop.fieldNames?.length === 1 && prop.kind === ReferenceKind.SCALAR);
}

/** The renames as an event stores them; null for none. */
function renameList(renames: AuditEntry['renames']): AuditRename[] | null {
  return renames?.length
    ? renames.map((rename) => ({ entityType: rename.item.constructor.name, entityId: rename.item.id, field: rename.field, from: rename.from, to: rename.to }))
    : null;
}

/** A value bound to a compiled INSERT: the renames list as JSON text (pg would send an array as a PostgreSQL array). */
function bound(property: string, value: unknown): unknown {
  return property === 'renames' && value ? JSON.stringify(value) : (value ?? null);
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
   * Writes the events in one compiled INSERT inside `em`'s transaction (a
   * change made by compiled statements, whose events are not the unit of work's).
   */
  async write(em: EntityManager, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const meta = em.getMetadata().get(AuditEvent.name);
    const properties = eventColumns(meta).map((prop) => prop.name);
    const { statement, params } = compiledNamedStatement('auditEvents', (params) => auditInsertSql(meta, params, { perEvent: properties }), 'write');
    const events: Array<Record<string, unknown>> = entries.map((entry) => ({ ...this.eventOf(entry), id: newId() }));
    const values = Object.fromEntries(properties.map((property) => [`audit.${property}`, events.map((event) => bound(property, event[property]))]));
    await transactionRows(em, statement, params.valuesOf(values));
  }

  /**
   * One event per record as the named values of `auditInsertSql`: what they
   * share once, and per record a new event id, the record's id and its renames.
   * The statement counts each one's `affected`.
   */
  values(entry: Omit<AuditEntry, 'affected' | 'entityId' | 'renames'>, records: ReadonlyArray<Pick<AuditEntry, 'entityId' | 'renames'>>): Record<string, unknown> {
    const { affected: _counted, entityId: _each, renames: _own, ...shared } = this.eventOf({ ...entry, entityId: '', affected: 0 });
    return {
      ...Object.fromEntries(Object.entries(shared).map(([property, value]) => [`audit.${property}`, value])),
      'audit.id': records.map(() => newId()),
      'audit.entityId': records.map((record) => record.entityId),
      'audit.renames': records.map((record) => bound('renames', renameList(record.renames))),
    };
  }

  private eventOf(entry: AuditEntry) {
    return {
      ...entry,
      renames: renameList(entry.renames),
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
