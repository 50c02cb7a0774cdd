/** The fields every trashable type shares, as a query selects them. */
export const TRASH_FIELDS = 'id version deletedAt deletedBy deleteReason deletionId purgeAt isDeleted';

export interface TrashableView {
  id: string;
  version: number;
  deletedAt: string | null;
  deletedBy: string | null;
  deleteReason: string | null;
  deletionId: string | null;
  purgeAt: string | null;
  isDeleted: boolean;
}
