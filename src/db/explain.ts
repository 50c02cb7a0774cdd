/** A node of PostgreSQL's `EXPLAIN (FORMAT JSON)` plan: the fields that tell which index a query uses. */
export interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** The plan's nodes, parent before children, so a check can look at every scan. */
export function flattenPlan(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(flattenPlan)];
}
