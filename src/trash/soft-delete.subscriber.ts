import { ChangeSetType, type EventSubscriber, type FlushEventArgs } from '@mikro-orm/core';
import { newId } from '../db/ids';
import { TrashableEntity } from './trashable.entity';

/**
 * Makes `em.remove()` of a trashable entity a move to the trash: the DELETE
 * change set becomes an UPDATE of the trash columns. Records leave the
 * database only through the explicit purge path, which bypasses the unit of work.
 */
export class SoftDeleteSubscriber implements EventSubscriber {
  async onFlush({ uow }: FlushEventArgs): Promise<void> {
    for (const changeSet of uow.getChangeSets()) {
      const { entity } = changeSet;
      if (changeSet.type !== ChangeSetType.DELETE || !(entity instanceof TrashableEntity)) continue;
      changeSet.type = ChangeSetType.UPDATE;
      if (!entity.deletedAt) {
        entity.deletedAt = new Date();
        entity.deletionId = newId();
      }
      uow.recomputeSingleChangeSet(entity);
    }
  }
}
