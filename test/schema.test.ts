import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAppSchema, printAppSchema } from '../src/schema';

describe('schema.graphql', () => {
  it('is what the code generates: run `npm run schema` and commit when this fails', async () => {
    const committed = readFileSync(path.resolve(__dirname, '..', 'schema.graphql'), 'utf8');
    expect(printAppSchema(await buildAppSchema())).toBe(committed);
  });

  it('keeps the contract clients generate code from', async () => {
    const sdl = printAppSchema(await buildAppSchema());
    expect(sdl).toContain('user(id: ID!, includeDeleted: Boolean! = false): User');
    expect(sdl).toMatch(/users\(\s*(?:"""[^"]*"""\s*)?after: String[\s\S]*first: Int! = 20[\s\S]*includeDeleted: Boolean! = false[\s\S]*onlyDeleted: Boolean! = false\s*\): UserConnection!/);
    expect(sdl).toMatch(/deleteUser\(\s*id: ID!\s*(?:"""[^"]*"""\s*)?reason: String\s*\): User!/);
    // onConflict is an addition with a default: `restoreUser(id: $id)` keeps working unchanged.
    expect(sdl).toContain('restoreUser(id: ID!, onConflict: OnConflict! = FAIL): User!');
    expect(sdl).toContain('updateUser(id: ID!, input: UpdateUserInput!): User!');
    expect(sdl).toContain('createUser(input: CreateUserInput!): User!');
    for (const field of ['createdAt: DateTimeISO!', 'deletedAt: DateTimeISO', 'isDeleted: Boolean!', 'version: Int!', 'displayName: String']) {
      expect(sdl).toContain(field);
    }
  });
});
