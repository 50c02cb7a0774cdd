import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261129000000CreateUsers } from './Migration20261129000000CreateUsers';
import { Migration20261129010000PostsRetentionAudit } from './Migration20261129010000PostsRetentionAudit';
import { Migration20261129020000AuditRenames } from './Migration20261129020000AuditRenames';
import { Migration20261129030000RowCounts } from './Migration20261129030000RowCounts';
import { Migration20261129040000TrashSearch } from './Migration20261129040000TrashSearch';

/** Applied in this order; a new migration is appended here as well as added as a file. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261129000000CreateUsers', class: Migration20261129000000CreateUsers },
  { name: 'Migration20261129010000PostsRetentionAudit', class: Migration20261129010000PostsRetentionAudit },
  { name: 'Migration20261129020000AuditRenames', class: Migration20261129020000AuditRenames },
  { name: 'Migration20261129030000RowCounts', class: Migration20261129030000RowCounts },
  { name: 'Migration20261129040000TrashSearch', class: Migration20261129040000TrashSearch },
];
