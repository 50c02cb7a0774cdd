/** A committed change of the trash: what the logs and metrics are told. */
export interface TrashChange {
  action: 'DELETE' | 'RESTORE' | 'PURGE';
  entityType: string;
  /** The record acted on; for a retention batch, every purged record. */
  ids: string[];
  /** The user owning each of `ids`, in the same order; when absent, only admins hear of the change live. */
  ownerIds?: string[];
  deletionId?: string | null;
  /** Rows touched, cascaded ones included. */
  affected: number;
  actorId: string | null;
}

/** Told about each trash change after its transaction has committed. */
export interface TrashObserver {
  trashChanged(change: TrashChange): void;
}
