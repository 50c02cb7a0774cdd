import type { EntityClass, FilterQuery, MetadataStorage } from '@mikro-orm/core';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import {
  getArgumentValues,
  getNamedType,
  getVariableValues,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  locatedError,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FormattedExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  jsonKindOf,
  readJson,
  type ConnectionFieldShape,
  type ConnectionShape,
  type EdgeFieldShape,
  type FieldShape,
  type JsonKind,
  type NodeShape,
  type ObjectShape,
  type PageInfoFieldShape,
  type RenderedTotal,
  type RootShape,
} from '../db/compiled/json-reads';
import type { ReadExecutor } from '../db/compiled/read-executor';
import { isDatabaseUnavailable } from '../db/database-errors';
import { isUuid } from '../db/ids';
import type { KeysetOrder } from '../db/keyset';
import { isPageSize } from './connection';
import { decodeAfter } from './keyset-page';

/**
 * Rendered reads: a query made only of entity listings, records by id and
 * their columns is answered by one statement in which PostgreSQL writes the
 * response's JSON itself (db/compiled/json-reads.ts). Node then neither
 * parses rows, nor builds objects, nor walks them through the executor, nor
 * serializes them again: on a 50-row page that was most of the server's CPU,
 * and the server's one JavaScript thread is what limits its throughput.
 *
 * Anything else (a field with a resolver of its own, directives, a union, a
 * mutation, arguments that are invalid or not allowed to the caller) is
 * executed as before, by the compiled executor and the resolvers, which also
 * report every error: the rendered path only ever answers requests that
 * succeed. The rules of who sees what stay in the services, which give the
 * listing's order and conditions (`RenderableFields`).
 */

/** A listing's order and conditions for this request's principal, as the service computes them for its resolver. */
export interface RenderedListing {
  order: KeysetOrder<never>;
  where: FilterQuery<never>;
  /** The total a maintained counter answers; without it, rows are counted. */
  total?: RenderedTotal;
}

/** Several entities listed as one connection of a union, merged in one order (e.g. the trash). */
export interface RenderedMergedListing {
  order: KeysetOrder<never>;
  members: Array<{ entity: EntityClass<{ id: string }>; where: FilterQuery<never>; total?: RenderedTotal }>;
}

/** The fields that can be rendered, and how their arguments become a listing. Throwing means: not rendered. */
export interface RenderableFields<Context> {
  /** Query fields listing an entity as a connection, e.g. `users`. */
  connections: Record<string, { entity: EntityClass<{ id: string }>; listing(context: Context, args: Record<string, unknown>): RenderedListing }>;
  /** Query fields listing the members of a union as one connection, e.g. `trash`. */
  unions: Record<string, { listing(context: Context, args: Record<string, unknown>): RenderedMergedListing }>;
  /** Query fields reading a record by its `id` argument; `visible` gives the condition the record must meet for this request's principal. */
  byId: Record<string, { entity: EntityClass<object>; visible(context: Context, args: Record<string, unknown>): object }>;
  /** Fields of entity types computed from columns, by field name, e.g. `isDeleted`; for every entity that has the properties. */
  computed: Record<string, { properties: string[]; sql(columns: string[]): string; json: JsonKind }>;
  /** Fields of entity types holding the record a many-to-one property points to, keyed `Type.field`, e.g. `Post.author`; read in any state. */
  references: Record<string, { entity: EntityClass<object>; property: string }>;
  /** Fields of entity types listing their children, keyed `Type.field`, e.g. `User.posts`. */
  children: Record<
    string,
    { entity: EntityClass<{ id: string }>; parentProperty: string; listing(context: Context, args: Record<string, unknown>): RenderedListing }
  >;
  /** The request's executor of compiled reads. */
  reads(context: Context): ReadExecutor;
  /** Told when a rendered statement failed for a reason other than the database being unavailable; the request is then executed. */
  failed(context: Context, error: unknown): void;
}

/** A root field's answer as JSON text written by PostgreSQL, spliced into the response as it is. */
export class RenderedJson {
  constructor(readonly text: string) {}

  /** For anything that serializes the result by itself (e.g. `executeOperation` in-process). */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** Results whose `data` holds rendered JSON. */
const renderedData = new WeakSet<object>();

/**
 * Apollo's `stringifyResult`: JSON as Apollo writes it, with the rendered
 * root fields written in as they came from the database.
 */
export function stringifyResult(result: FormattedExecutionResult): string {
  const { data } = result;
  if (!data || !renderedData.has(data)) return `${JSON.stringify(result)}\n`;
  const fields = Object.entries(data).map(([key, value]) => `${JSON.stringify(key)}:${value instanceof RenderedJson ? value.text : JSON.stringify(value)}`);
  const parts = [];
  if (result.errors) parts.push(`"errors":${JSON.stringify(result.errors)}`);
  parts.push(`"data":{${fields.join(',')}}`);
  if (result.extensions) parts.push(`"extensions":${JSON.stringify(result.extensions)}`);
  return `{${parts.join(',')}}\n`;
}

class NotRendered extends Error {}

/** GraphQL scalars and the column types PostgreSQL writes exactly as they serialize. */
const scalarKinds: Record<string, JsonKind[]> = { ID: ['uuid', 'text'], String: ['uuid', 'text'], Int: ['integer'], Boolean: ['boolean'], DateTimeISO: ['timestamp'] };

/** Whether a field of this GraphQL type is written as it serializes by a value of this kind. */
function writesAs(field: GraphQLField<unknown, unknown>, kind: JsonKind | undefined): boolean {
  const scalar = getNamedType(field.type);
  return kind !== undefined && isScalarType(scalar) && (scalarKinds[scalar.name]?.includes(kind) ?? false);
}

type ObjectPlan = { entity: EntityClass<object>; fields: Array<{ key: string; value: FieldPlan }> };
/** A connection's nodes: one entity's, or a union's, with a plan per member entity. */
type NodePlan = ObjectPlan | { members: ObjectPlan[] };
type FieldPlan =
  | Extract<FieldShape, { kind: 'column' | 'computed' | 'constant' }>
  | { kind: 'reference'; property: string; node: ObjectPlan }
  | { kind: 'connection'; connection: ConnectionPlan };
type EdgeFieldPlan = { kind: 'node'; node: NodePlan } | { kind: 'cursor' } | { kind: 'constant'; value: string };
type ConnectionFieldPlan =
  | { kind: 'nodes'; node: NodePlan }
  | { kind: 'edges'; fields: Array<{ key: string; value: EdgeFieldPlan }> }
  | { kind: 'pageInfo'; fields: Array<{ key: string; value: PageInfoFieldShape }> }
  | { kind: 'totalCount' }
  | { kind: 'constant'; value: string };

interface ConnectionPlan {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  parentProperty?: string;
  listing(context: unknown, args: Record<string, unknown>): RenderedMergedListing;
  fields: Array<{ key: string; value: ConnectionFieldPlan }>;
}

type RootPlan =
  | { key: string; kind: 'constant'; value: string }
  | { key: string; kind: 'connection'; connection: ConnectionPlan }
  | {
      key: string;
      kind: 'byId';
      field: GraphQLField<unknown, unknown>;
      node: FieldNode;
      object: ObjectPlan;
      visible(context: unknown, args: Record<string, unknown>): object;
    };

/**
 * The renderer for one schema: plans each operation once (kept with its
 * parsed document, like the compiled executor's code), then binds a plan to
 * a request's variables and principal. Answers undefined when the request
 * is not rendered.
 */
export function renderedReads<Context>(schema: GraphQLSchema, metadata: MetadataStorage, fields: RenderableFields<Context>) {
  const plans = new WeakMap<DocumentNode, Map<string, RootPlan[] | null>>();
  const planner = new Planner(schema, metadata, fields as RenderableFields<unknown>);

  const planOf = (document: DocumentNode, operation: OperationDefinitionNode): RootPlan[] | null => {
    const key = operation.name?.value ?? '';
    let operations = plans.get(document);
    let plan = operations?.get(key);
    if (plan === undefined) {
      plan = planner.plan(document, operation);
      if (!operations) plans.set(document, (operations = new Map()));
      operations.set(key, plan);
    }
    return plan;
  };

  return async (request: GatewayGraphQLRequestContext): Promise<ExecutionResult | undefined> => {
    const context = request.context as Context;
    const operation = request.operation;
    if (!operation) return undefined;
    const plan = planOf(request.document, operation);
    if (!plan) return undefined;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.request.variables ?? {});
    if (coerced.errors) return undefined;
    let roots: RootShape[];
    try {
      const binder = new Binder(context, coerced.coerced);
      roots = plan.filter((root) => root.kind !== 'constant').map((root) => binder.root(root));
    } catch (error) {
      if (error instanceof NotRendered) return undefined;
      throw error;
    }
    let texts: string[];
    try {
      texts = await readJson(fields.reads(context), roots);
    } catch (error) {
      // Unreachable or timed out: reported at once, as the resolvers would, not tried a second time.
      if (isDatabaseUnavailable(error)) return unavailableResult(plan, error);
      // Any other failure is this statement's own: the executor answers instead.
      fields.failed(context, error);
      return undefined;
    }
    const data: Record<string, unknown> = {};
    let next = 0;
    for (const root of plan) data[root.key] = root.kind === 'constant' ? root.value : new RenderedJson(texts[next++]);
    renderedData.add(data);
    return { data };
  };
}

/** The result graphql-js gives when every database-backed root field fails with `error`: a non-null one nulls the data. */
function unavailableResult(plan: RootPlan[], error: unknown): ExecutionResult {
  const errors: GraphQLError[] = [];
  const data: Record<string, unknown> = {};
  let nullData = false;
  for (const root of plan) {
    if (root.kind === 'constant') {
      data[root.key] = root.value;
      continue;
    }
    const { field, node } = root.kind === 'connection' ? root.connection : root;
    errors.push(locatedError(error, [node], [root.key]));
    if (isNonNullType(field.type)) nullData = true;
    else data[root.key] = null;
  }
  return { data: nullData ? null : data, errors };
}

/** Turns an operation into a plan, or null when some part of it is not rendered. */
class Planner {
  private fragments: Record<string, FragmentDefinitionNode> = {};

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly metadata: MetadataStorage,
    private readonly renderable: RenderableFields<unknown>,
  ) {}

  plan(document: DocumentNode, operation: OperationDefinitionNode): RootPlan[] | null {
    if (operation.operation !== 'query' || operation.directives?.length) return null;
    this.fragments = {};
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments[definition.name.value] = definition;
    try {
      const queryType = this.schema.getQueryType()!;
      const roots = this.fieldsOf(operation.selectionSet, queryType).map((node) => this.root(node, queryType));
      return roots.some((root) => root.kind !== 'constant') ? roots : null;
    } catch (error) {
      if (error instanceof NotRendered) return null;
      throw error;
    } finally {
      this.fragments = {};
    }
  }

  private root(node: FieldNode, queryType: GraphQLObjectType): RootPlan {
    const key = responseKey(node);
    const name = node.name.value;
    if (name === '__typename') return { key, kind: 'constant', value: queryType.name };
    const field = queryType.getFields()[name];
    const listing = own(this.renderable.connections, name);
    if (field && listing) return { key, kind: 'connection', connection: this.connection(node, field, singleSource(listing.entity, listing.listing)) };
    const union = own(this.renderable.unions, name);
    if (field && union) return { key, kind: 'connection', connection: this.connection(node, field, union.listing) };
    const byId = own(this.renderable.byId, name);
    if (field && byId) {
      const type = getNamedType(field.type);
      if (!isObjectType(type)) throw new NotRendered();
      return { key, kind: 'byId', field, node, object: this.object(node.selectionSet, type, byId.entity), visible: byId.visible };
    }
    throw new NotRendered();
  }

  private connection(node: FieldNode, field: GraphQLField<unknown, unknown>, listing: ConnectionPlan['listing'], parentProperty?: string): ConnectionPlan {
    const type = getNamedType(field.type);
    if (!isObjectType(type)) throw new NotRendered();
    const typeFields = type.getFields();
    const fields = this.fieldsOf(node.selectionSet, type).map((selected): { key: string; value: ConnectionFieldPlan } => {
      const key = responseKey(selected);
      switch (selected.name.value) {
        case '__typename':
          return { key, value: { kind: 'constant', value: type.name } };
        case 'nodes':
          return { key, value: { kind: 'nodes', node: this.nodes(selected.selectionSet, typeFields.nodes) } };
        case 'totalCount':
          return { key, value: { kind: 'totalCount' } };
        case 'edges': {
          const edgeType = objectTypeOf(typeFields.edges);
          const edge = this.fixedFields<EdgeFieldPlan>(selected.selectionSet, edgeType, {
            cursor: () => ({ kind: 'cursor' }),
            node: (item) => ({ kind: 'node', node: this.nodes(item.selectionSet, edgeType.getFields().node) }),
          });
          return { key, value: { kind: 'edges', fields: edge } };
        }
        case 'pageInfo': {
          const info = this.fixedFields<PageInfoFieldShape>(selected.selectionSet, objectTypeOf(typeFields.pageInfo), {
            hasNextPage: () => ({ kind: 'hasNextPage' }),
            endCursor: () => ({ kind: 'endCursor' }),
          });
          return { key, value: { kind: 'pageInfo', fields: info } };
        }
        default:
          throw new NotRendered();
      }
    });
    return { field, node, parentProperty, listing, fields: distinct(fields) };
  }

  /** The fields of a small fixed type (an edge, page info): `__typename` and the `known` ones; anything else is not rendered. */
  private fixedFields<V extends { kind: string }>(
    selectionSet: SelectionSetNode | undefined,
    type: GraphQLObjectType,
    known: Record<string, (item: FieldNode) => V>,
  ): Array<{ key: string; value: V | { kind: 'constant'; value: string } }> {
    const fields = this.fieldsOf(selectionSet, type).map((item) => {
      const key = responseKey(item);
      if (item.name.value === '__typename') return { key, value: { kind: 'constant' as const, value: type.name } };
      const plan = own(known, item.name.value);
      if (!plan) throw new NotRendered();
      return { key, value: plan(item) };
    });
    return distinct(fields);
  }

  /** A connection's nodes: an entity type's objects, or for a union, each member's (every member must be an entity). */
  private nodes(selectionSet: SelectionSetNode | undefined, field: GraphQLField<unknown, unknown> | undefined): NodePlan {
    const type = field && getNamedType(field.type);
    if (isObjectType(type)) return this.object(selectionSet, type, this.entityOf(type));
    if (!isUnionType(type)) throw new NotRendered();
    return { members: type.getTypes().map((member) => this.object(selectionSet, member, this.entityOf(member), type.name)) };
  }

  private isMemberOf(typeName: string, union: string): boolean {
    const type = this.schema.getType(union);
    return isUnionType(type) && type.getTypes().some((member) => member.name === typeName);
  }

  private entityOf(type: GraphQLObjectType): EntityClass<object> {
    const meta = this.metadata.find(type.name);
    if (!meta?.class) throw new NotRendered();
    return meta.class as EntityClass<object>;
  }

  /** A record's fields: its columns, `__typename`, and connections of its children. */
  private object(selectionSet: SelectionSetNode | undefined, type: GraphQLObjectType, entity: EntityClass<object>, union?: string): ObjectPlan {
    const meta = this.metadata.find(entity.name);
    if (!meta || type.name !== meta.className) throw new NotRendered();
    const fields = this.fieldsOf(selectionSet, type, union).map((selected): { key: string; value: FieldPlan } => {
      const key = responseKey(selected);
      const name = selected.name.value;
      if (name === '__typename') return { key, value: { kind: 'constant', value: type.name } };
      const field = type.getFields()[name];
      const child = own(this.renderable.children, `${type.name}.${name}`);
      if (field && child) return { key, value: { kind: 'connection', connection: this.connection(selected, field, singleSource(child.entity, child.listing), child.parentProperty) } };
      const reference = own(this.renderable.references, `${type.name}.${name}`);
      if (field && reference) {
        const node = this.object(selected.selectionSet, objectTypeOf(field), reference.entity);
        return { key, value: { kind: 'reference', property: reference.property, node } };
      }
      const computed = own(this.renderable.computed, name);
      // Otherwise a field without a resolver of its own (none computes, wraps or counts it), written as its scalar serializes.
      if (!field || field.resolve) throw new NotRendered();
      if (computed && writesAs(field, computed.json) && computed.properties.every((property) => jsonKindOf(meta, property) !== undefined)) {
        return { key, value: { kind: 'computed', properties: computed.properties, sql: computed.sql, json: computed.json } };
      }
      if (!writesAs(field, jsonKindOf(meta, name))) throw new NotRendered();
      return { key, value: { kind: 'column', property: name } };
    });
    return { entity, fields: distinct(fields) };
  }

  /**
   * The fields of a selection set that apply to `type`, through fragments on
   * it, an interface it implements, or the union it is selected through
   * (`union`); fragments on other members are left out. Directives are not rendered.
   */
  private fieldsOf(selectionSet: SelectionSetNode | undefined, type: GraphQLObjectType, union?: string): FieldNode[] {
    if (!selectionSet) throw new NotRendered();
    const fields: FieldNode[] = [];
    for (const selection of selectionSet.selections) {
      if (selection.directives?.length) throw new NotRendered();
      if (selection.kind === Kind.FIELD) {
        fields.push(selection);
        continue;
      }
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : this.fragments[selection.name.value];
      if (!fragment || fragment.directives?.length) throw new NotRendered();
      const condition = fragment.typeCondition?.name.value;
      const applies = !condition || condition === type.name || condition === union || type.getInterfaces().some((item) => item.name === condition);
      if (applies) fields.push(...this.fieldsOf(fragment.selectionSet, type, union));
      // A fragment on another member of the union selects nothing here; on anything else, it is not rendered.
      else if (!union || !this.isMemberOf(condition!, union)) throw new NotRendered();
    }
    return fields;
  }
}

/** A listing of one entity as a merged listing of one member. */
function singleSource<Context>(
  entity: EntityClass<{ id: string }>,
  listing: (context: Context, args: Record<string, unknown>) => RenderedListing,
): (context: Context, args: Record<string, unknown>) => RenderedMergedListing {
  return (context, args) => {
    const { order, where, total } = listing(context, args);
    return { order, members: [{ entity, where, total }] };
  };
}

/** A plan bound to one request: arguments from its variables, listings from its principal. */
class Binder {
  constructor(
    private readonly context: unknown,
    private readonly variables: Record<string, unknown>,
  ) {}

  root(root: RootPlan): RootShape {
    if (root.kind === 'connection') return { kind: 'connection', connection: this.connection(root.connection) };
    if (root.kind !== 'byId') throw new NotRendered();
    const args = getArgumentValues(root.field, root.node, this.variables);
    if (typeof args.id !== 'string' || !isUuid(args.id)) throw new NotRendered();
    let where: object;
    try {
      where = root.visible(this.context, args);
    } catch {
      throw new NotRendered();
    }
    return { kind: 'byId', node: this.object(root.object), id: args.id, where: where as FilterQuery<object> };
  }

  private connection(plan: ConnectionPlan): ConnectionShape {
    const args = getArgumentValues(plan.field, plan.node, this.variables);
    const first = args.first;
    if (!isPageSize(first)) throw new NotRendered();
    let listing: RenderedMergedListing;
    let after;
    try {
      listing = plan.listing(this.context, args);
      after = decodeAfter({ after: args.after as string | null | undefined, order: listing.order });
    } catch {
      throw new NotRendered();
    }
    const order = listing.order as KeysetOrder<{ id: string }>;
    return {
      sources: listing.members.map(({ entity, where, total }) => ({ query: { entity, first, after, order, where: where as FilterQuery<{ id: string }> }, total })),
      parentProperty: plan.parentProperty,
      fields: plan.fields.map(({ key, value }) => ({ key, value: this.connectionField(value, listing.members) })),
    };
  }

  private connectionField(field: ConnectionFieldPlan, members: RenderedMergedListing['members']): ConnectionFieldShape {
    if (field.kind === 'nodes') return { kind: 'nodes', node: this.nodes(field.node, members) };
    if (field.kind !== 'edges') return field;
    return {
      kind: 'edges',
      fields: field.fields.map(({ key, value }): { key: string; value: EdgeFieldShape } => ({
        key,
        value: value.kind === 'node' ? { kind: 'node', node: this.nodes(value.node, members) } : value,
      })),
    };
  }

  /** The nodes' shapes for the entities listed; every one of them must be planned (a union's member). */
  private nodes(plan: NodePlan, members: RenderedMergedListing['members']): NodeShape {
    const plans = 'members' in plan ? plan.members : [plan];
    const listed = members.map(({ entity }) => plans.find((member) => member.entity === entity));
    if (listed.some((member) => member === undefined)) throw new NotRendered();
    return 'members' in plan ? { members: (listed as ObjectPlan[]).map((member) => this.object(member)) } : this.object(plan);
  }

  private object(plan: ObjectPlan): ObjectShape {
    return {
      entity: plan.entity,
      fields: plan.fields.map(({ key, value }): { key: string; value: FieldShape } => {
        if (value.kind === 'connection') return { key, value: { kind: 'connection', connection: this.connection(value.connection) } };
        if (value.kind === 'reference') return { key, value: { kind: 'reference', property: value.property, node: this.object(value.node) } };
        return { key, value };
      }),
    };
  }
}

/** The entry under a name clients choose, never one inherited from Object.prototype (`constructor`, `toString`). */
function own<V>(record: Record<string, V>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function responseKey(node: FieldNode): string {
  return node.alias?.value ?? node.name.value;
}

function objectTypeOf(field: GraphQLField<unknown, unknown> | undefined): GraphQLObjectType {
  const type = field && getNamedType(field.type);
  if (!type || !isObjectType(type)) throw new NotRendered();
  return type;
}

/**
 * Fields as listed, when every response key appears once. A key selected
 * twice is merged by GraphQL's rules (sub-selections combined), which the
 * executor does; it is not rendered.
 */
function distinct<T extends { key: string }>(fields: T[]): T[] {
  if (new Set(fields.map((field) => field.key)).size !== fields.length) throw new NotRendered();
  return fields;
}
