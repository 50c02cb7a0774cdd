import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One slot of a table's exact live/trashed row count, as a whole (`parentId`
 * is the nil UUID) or per parent. Written only by the database's triggers
 * (see the RowCounts migration); read by `RowCounts`.
 */
@Entity({ tableName: 'row_counts' })
export class RowCount {
  @PrimaryKey({ type: 'string', length: 63 })
  tableName!: string;

  @PrimaryKey({ type: 'uuid' })
  parentId!: string;

  @PrimaryKey({ type: 'smallint' })
  slot!: number;

  @Property({ type: 'bigint', default: 0 })
  live!: string;

  @Property({ type: 'bigint', default: 0 })
  trashed!: string;
}
