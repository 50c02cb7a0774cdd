import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/** What an operation's cost depends on besides the schema. */
export interface OperationShape {
  /** Variables given as a field's `first` or `ids` argument: the list sizes that multiply the cost. */
  pageSizeVariables: string[];
  /** `totalCount` selections, each a COUNT statement (a nested one runs once for all parents). */
  totalCounts: number;
}

const shapes = new WeakMap<OperationDefinitionNode, OperationShape>();

/**
 * Walks the operation and the fragments it spreads once, remembered per
 * parsed operation. Each fragment is walked once however often it is spread,
 * so documents that spread fragments within fragments cannot make this slow.
 */
export function operationShape(document: DocumentNode, operation: OperationDefinitionNode): OperationShape {
  const known = shapes.get(operation);
  if (known) return known;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const pageSizeVariables = new Set<string>();
  const countsPerFragment = new Map<string, number>();

  const countIn = (selectionSet: SelectionSetNode | undefined, visiting: Set<string>): number => {
    let counts = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === 'totalCount') counts += 1;
        for (const argument of selection.arguments ?? []) {
          if ((argument.name.value === 'first' || argument.name.value === 'ids') && argument.value.kind === Kind.VARIABLE) pageSizeVariables.add(argument.value.name.value);
        }
        counts += countIn(selection.selectionSet, visiting);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        counts += countIn(selection.selectionSet, visiting);
      } else {
        const name = selection.name.value;
        // Validation has refused fragment cycles already; `visiting` only keeps this walk finite regardless.
        if (visiting.has(name)) continue;
        let fragmentCounts = countsPerFragment.get(name);
        if (fragmentCounts === undefined) {
          visiting.add(name);
          fragmentCounts = countIn(fragments.get(name)?.selectionSet, visiting);
          visiting.delete(name);
          countsPerFragment.set(name, fragmentCounts);
        }
        counts += fragmentCounts;
      }
    }
    return counts;
  };

  const totalCounts = countIn(operation.selectionSet, new Set());
  const shape = { pageSizeVariables: [...pageSizeVariables].sort(), totalCounts };
  shapes.set(operation, shape);
  return shape;
}
