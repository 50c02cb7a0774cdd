import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareSchemas, formatChange, hasBreakingChanges, runSchemaCheck, SchemaCheckError } from '../src/cli/schema-check';

const schemaFile = path.resolve(__dirname, '..', 'schema.graphql');
const current = readFileSync(schemaFile, 'utf8');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'schema-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `sdl` with the block that starts with `header` (up to its closing brace) changed by `edit`. */
function editBlock(sdl: string, header: string, edit: (block: string) => string): string {
  const start = sdl.indexOf(header);
  const end = sdl.indexOf('\n}\n', start) + 3;
  if (start < 0 || end < 3) throw new Error(`no block ${header}`);
  const changed = edit(sdl.slice(start, end));
  if (changed === sdl.slice(start, end)) throw new Error(`edit left ${header} unchanged`);
  return sdl.slice(0, start) + changed + sdl.slice(end);
}

const base = `
  type Query { user(id: ID!): User }
  type User { id: ID!, username: String!, email: String! }
`;

describe('compareSchemas', () => {
  it('reports a removed field as breaking', async () => {
    const changes = await compareSchemas(base, `type Query { user(id: ID!): User } type User { id: ID!, username: String! }`);
    expect(changes).toEqual([expect.objectContaining({ level: 'BREAKING', type: 'FIELD_REMOVED', path: 'User.email' })]);
    expect(changes[0].message).toContain('email');
    expect(hasBreakingChanges(changes)).toBe(true);
    expect(formatChange(changes[0])).toMatch(/^BREAKING\s+Field 'email' .*removed/);
  });

  it('reports an added nullable field as safe', async () => {
    const changes = await compareSchemas(base, `type Query { user(id: ID!): User } type User { id: ID!, username: String!, email: String!, displayName: String }`);
    expect(changes).toEqual([expect.objectContaining({ level: 'NON_BREAKING', type: 'FIELD_ADDED', path: 'User.displayName' })]);
    expect(hasBreakingChanges(changes)).toBe(false);
  });

  it('reports an added optional argument as dangerous (it may change results), not breaking', async () => {
    const changes = await compareSchemas(base, `type Query { user(id: ID!, includeDeleted: Boolean = false): User } type User { id: ID!, username: String!, email: String! }`);
    expect(changes).toEqual([expect.objectContaining({ level: 'DANGEROUS', type: 'FIELD_ARGUMENT_ADDED', path: 'Query.user.includeDeleted' })]);
    expect(hasBreakingChanges(changes)).toBe(false);
  });

  it('reports an added required argument as breaking and lists breaking changes first', async () => {
    const changes = await compareSchemas(
      base,
      `type Query { user(id: ID!, tenant: String!): User } type User { id: ID!, username: String!, email: String!, displayName: String }`,
    );
    expect(changes.map((change) => change.level)).toEqual(['BREAKING', 'NON_BREAKING']);
    expect(changes[0]).toMatchObject({ type: 'FIELD_ARGUMENT_ADDED', path: 'Query.user.tenant' });
  });

  it('finds no change between schema.graphql and itself', async () => {
    expect(await compareSchemas(current, current)).toEqual([]);
  });

  it('rejects SDL that is not a schema', async () => {
    await expect(compareSchemas('type Query { user: Nope }', base)).rejects.toThrow(SchemaCheckError);
  });
});

describe('runSchemaCheck (npm run schema:check)', () => {
  it('compares schema.graphql with a given old schema file and prints each change with its level', async () => {
    const old = path.join(scratch, 'old.graphql');
    // The old User had a field the current one no longer has, and lacked displayName, which the current one has.
    writeFileSync(
      old,
      editBlock(current, 'type User implements Node & Trashable {', (block) => block.replace('  displayName: String\n', '').replace('{\n', '{\n  nickname: String\n')),
    );

    const result = await runSchemaCheck([old]);
    expect(result.base).toBe(old);
    expect(result.breaking).toBe(true);
    expect(result.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'BREAKING', type: 'FIELD_REMOVED', path: 'User.nickname' }),
        expect.objectContaining({ level: 'NON_BREAKING', type: 'FIELD_ADDED', path: 'User.displayName' }),
      ]),
    );
    expect(result.lines[0]).toMatch(/^BREAKING\s+Field 'nickname' was removed from object type 'User'/);
    expect(result.lines.at(-1)).toBe(`2 change(s) since ${old}: 1 breaking, 0 dangerous, 1 safe.`);
  });

  it('is not breaking when the old schema file is the current one', async () => {
    const result = await runSchemaCheck([schemaFile]);
    expect(result).toMatchObject({ breaking: false, changes: [], lines: [`No changes to the schema since ${schemaFile}.`] });
  });

  it('compares with the main branch by default', async () => {
    const mainSchema = editBlock(current, 'type User implements Node & Trashable {', (block) => block.replace('{\n', '{\n  age: Int\n'));
    const result = await runSchemaCheck([], { readBase: async () => mainSchema });
    expect(result.base).toBe('main:schema.graphql');
    expect(result.breaking).toBe(true);
    expect(result.changes.map((change) => change.path)).toContain('User.age');
  });

  it('says so when the main branch cannot be read from git', async () => {
    const outside = path.join(scratch, 'schema.graphql');
    writeFileSync(outside, current);
    await expect(runSchemaCheck([], { schemaFile: outside })).rejects.toThrow(
      /^Cannot read schema\.graphql from the main branch \(git show main:schema\.graphql failed: .+\)\. Compare with a file instead/,
    );
  });

  it('refuses unknown arguments and missing files', async () => {
    await expect(runSchemaCheck(['--base', 'x'])).rejects.toThrow(/usage: npm run schema:check/);
    await expect(runSchemaCheck([path.join(scratch, 'missing.graphql')])).rejects.toThrow(/Cannot read .*missing\.graphql: ENOENT/);
  });
});
