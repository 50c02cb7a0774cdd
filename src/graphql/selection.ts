import {
  getArgumentValues,
  getNamedType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/** What a connection field asks of a connection nested in its nodes (e.g. `users { nodes { posts(...) { ... } } }`). */
export interface NestedConnectionSelection {
  /** Its arguments, coerced with their defaults exactly as its resolver would receive them. */
  args: Record<string, unknown>;
  totalCount: boolean;
}

/**
 * The nested connection `field` under the `nodes` (or `edges { node }`) of the
 * connection being resolved: `undefined` when it is not selected, `null` when
 * it is selected in a way a single statement does not answer (directives, or
 * several aliases with their own arguments), so the caller keeps the batched path.
 */
export function nestedConnectionSelection(info: GraphQLResolveInfo, field: string): NestedConnectionSelection | null | undefined {
  const connectionType = getNamedType(info.returnType);
  if (!isObjectType(connectionType)) return null;
  const nodeType = getNamedType(connectionType.getFields().nodes?.type);
  if (!isObjectType(nodeType) || !nodeType.getFields()[field]) return null;
  try {
    const nodeSelections: SelectionSetNode[] = [];
    for (const connection of info.fieldNodes) {
      for (const selected of fieldsOf(info, connection.selectionSet, connectionType)) {
        if (selected.name.value === 'nodes' && selected.selectionSet) nodeSelections.push(selected.selectionSet);
        if (selected.name.value === 'edges' && selected.selectionSet) {
          const edgeType = getNamedType(connectionType.getFields().edges.type) as GraphQLObjectType;
          for (const node of fieldsOf(info, selected.selectionSet, edgeType)) {
            if (node.name.value === 'node' && node.selectionSet) nodeSelections.push(node.selectionSet);
          }
        }
      }
    }
    const nested = nodeSelections.flatMap((selection) => fieldsOf(info, selection, nodeType)).filter((node) => node.name.value === field);
    if (nested.length === 0) return undefined;
    const [first] = nested;
    const responseKey = (node: FieldNode) => node.alias?.value ?? node.name.value;
    // One response key means one argument set (validation guarantees it); several would each need their own page.
    if (nested.some((node) => responseKey(node) !== responseKey(first))) return null;
    const nestedType = getNamedType(nodeType.getFields()[field].type) as GraphQLObjectType;
    const totalCount = nested.some((node) => fieldsOf(info, node.selectionSet, nestedType).some((child) => child.name.value === 'totalCount'));
    return { args: getArgumentValues(nodeType.getFields()[field], first, info.variableValues), totalCount };
  } catch (error) {
    if (error instanceof NotCompilable) return null;
    throw error;
  }
}

class NotCompilable extends Error {}

/** The fields of a selection set, through fragments; directives make it not compilable. */
function fieldsOf(info: GraphQLResolveInfo, selectionSet: SelectionSetNode | undefined, type: GraphQLObjectType): FieldNode[] {
  if (!selectionSet) return [];
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.directives?.length) throw new NotCompilable();
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : info.fragments[selection.name.value];
      if (!fragment) throw new NotCompilable();
      if (fragment.directives?.length) throw new NotCompilable();
      const condition = fragment.typeCondition?.name.value;
      if (condition && condition !== type.name) throw new NotCompilable();
      fields.push(...fieldsOf(info, fragment.selectionSet, type));
    }
  }
  return fields;
}
