import type { AuditLog } from '../../audit/audit.service';
import { BadUserInputError } from '../../errors';
import type { ServiceContext } from '../../service-context';
import type { AnyTrashPolicy } from '../../trash/trash-policy';
import { TrashService } from '../../trash/trash.service';

export const MAX_NODE_IDS = 100;

/**
 * Finds the records of one type by id, in one statement: an entry for every id
 * found, holding the record, or null when the caller may not see it (another
 * member's trashed record). Ids it has no entry for are looked for elsewhere.
 */
type NodeLookup = (ids: readonly string[], includeDeleted: boolean) => Promise<Map<string, object | null>>;

/**
 * `node` and `nodes`: records of any type by their raw id. Ids are unique
 * across tables, so each table is asked in turn only for the ids not found
 * yet: one statement per type at most, whatever the number of ids.
 */
export class NodeService {
  constructor(
    private readonly context: ServiceContext,
    private readonly policies: readonly AnyTrashPolicy[],
    private readonly audit: AuditLog,
  ) {}

  /** Same rules as user(id) / post(id) / auditEvents: each type's own service decides what the caller may see. */
  private lookups(): NodeLookup[] {
    return [
      ...this.policies.map((policy): NodeLookup => {
        const trash = new TrashService(policy, this.context);
        return (ids, includeDeleted) => trash.findByIds(ids, { includeDeleted });
      }),
      (ids) => this.audit.findByIds(ids),
    ];
  }

  async findOne(id: string, includeDeleted: boolean): Promise<object | null> {
    const [node] = await this.findMany([id], includeDeleted);
    return node;
  }

  /** One entry per id asked for, in the same order; null for an id that is unknown or not the caller's to see. */
  async findMany(ids: readonly string[], includeDeleted: boolean): Promise<Array<object | null>> {
    if (ids.length > MAX_NODE_IDS) throw new BadUserInputError(`Invalid ids: at most ${MAX_NODE_IDS} ids per request`, 'ids');
    if (includeDeleted) this.context.access.requireSignedIn();
    const found = new Map<string, object | null>();
    let pending = [...new Set(ids)];
    for (const lookup of this.lookups()) {
      if (pending.length === 0) break;
      for (const [id, node] of await lookup(pending, includeDeleted)) found.set(id, node);
      pending = pending.filter((id) => !found.has(id));
    }
    return ids.map((id) => found.get(id) ?? null);
  }
}
