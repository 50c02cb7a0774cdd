import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

/** The committed contract, at the repository root. */
const SCHEMA_FILE = path.resolve(__dirname, '..', '..', 'schema.graphql');
/** What the current schema is compared with when no file is given. */
const BASE_REF = 'main';

const USAGE = 'usage: npm run schema:check [-- <old-schema-file>]';

export type ChangeLevel = 'BREAKING' | 'DANGEROUS' | 'NON_BREAKING';

export interface SchemaChange {
  level: ChangeLevel;
  /** @graphql-inspector's change type, e.g. FIELD_REMOVED. */
  type: string;
  message: string;
  /** The schema coordinate that changed, e.g. `User.email`. */
  path?: string;
  /** Why the change is breaking or dangerous, when graphql-inspector says. */
  reason?: string;
}

/** Thrown for a problem with the command's input (arguments, files, git), as opposed to a breaking change. */
export class SchemaCheckError extends Error {
  override name = 'SchemaCheckError';
}

const LEVEL_ORDER: Record<ChangeLevel, number> = { BREAKING: 0, DANGEROUS: 1, NON_BREAKING: 2 };

/** Every change from `oldSdl` to `newSdl`, breaking ones first. Throws when either is not a valid schema. */
export async function compareSchemas(oldSdl: string, newSdl: string): Promise<SchemaChange[]> {
  const changes = await diff(parseSchema(oldSdl, 'old'), parseSchema(newSdl, 'new'));
  return changes
    .map((change) => ({
      level: levelOf(change.criticality.level),
      type: String(change.type),
      message: change.message,
      ...(change.path ? { path: change.path } : {}),
      ...(change.criticality.reason ? { reason: change.criticality.reason } : {}),
    }))
    .sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
}

export function hasBreakingChanges(changes: readonly SchemaChange[]): boolean {
  return changes.some((change) => change.level === 'BREAKING');
}

/** A change as printed: its level and message, and for a breaking or dangerous one, why on an indented line. */
export function formatChange(change: SchemaChange): string {
  const line = `${change.level.padEnd(12)} ${change.message}`;
  return change.level !== 'NON_BREAKING' && change.reason ? `${line}\n${' '.repeat(13)}${change.reason}` : line;
}

export interface SchemaCheckResult {
  /** What the current schema.graphql was compared with, e.g. `main:schema.graphql` or a file path. */
  base: string;
  changes: SchemaChange[];
  breaking: boolean;
  /** The report, as printed. */
  lines: string[];
}

export interface SchemaCheckOptions {
  /** The new schema; defaults to the repository's schema.graphql. */
  schemaFile?: string;
  /** Reads the base schema from git; replaceable in tests. */
  readBase?: () => Promise<string>;
}

/**
 * `npm run schema:check [-- <old-schema-file>]`: compares schema.graphql with
 * the old schema (the main branch's, or the given file) and reports each change
 * with its criticality. The caller exits 1 when `breaking` is true.
 */
export async function runSchemaCheck(argv: readonly string[], options: SchemaCheckOptions = {}): Promise<SchemaCheckResult> {
  if (argv.length > 1 || argv.some((arg) => arg.startsWith('-'))) throw new SchemaCheckError(`Unexpected arguments ${argv.join(' ')}; ${USAGE}`);
  const schemaFile = options.schemaFile ?? SCHEMA_FILE;
  const newSdl = await readSchemaFile(schemaFile);
  let base: string;
  let oldSdl: string;
  if (argv.length === 1) {
    base = argv[0];
    oldSdl = await readSchemaFile(path.resolve(argv[0]));
  } else {
    base = `${BASE_REF}:schema.graphql`;
    oldSdl = await (options.readBase ?? (() => readFromGit(path.dirname(schemaFile))))();
  }
  const changes = await compareSchemas(oldSdl, newSdl);
  const counts = (level: ChangeLevel) => changes.filter((change) => change.level === level).length;
  const lines = [
    ...changes.map(formatChange),
    changes.length === 0
      ? `No changes to the schema since ${base}.`
      : `${changes.length} change(s) since ${base}: ${counts('BREAKING')} breaking, ${counts('DANGEROUS')} dangerous, ${counts('NON_BREAKING')} safe.`,
  ];
  return { base, changes, breaking: hasBreakingChanges(changes), lines };
}

function parseSchema(sdl: string, which: 'old' | 'new') {
  try {
    return buildSchema(sdl);
  } catch (error) {
    throw new SchemaCheckError(`The ${which} schema is not valid SDL: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function levelOf(level: CriticalityLevel): ChangeLevel {
  switch (level) {
    case CriticalityLevel.Breaking:
      return 'BREAKING';
    case CriticalityLevel.Dangerous:
      return 'DANGEROUS';
    default:
      return 'NON_BREAKING';
  }
}

async function readSchemaFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SchemaCheckError(`Cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** `git show main:schema.graphql`, run in the repository. */
async function readFromGit(repository: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('git', ['show', `${BASE_REF}:schema.graphql`], {
      cwd: repository,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    const why = failure.code === 'ENOENT' ? 'git is not installed' : (failure.stderr?.trim() || failure.message);
    throw new SchemaCheckError(
      `Cannot read schema.graphql from the ${BASE_REF} branch (git show ${BASE_REF}:schema.graphql failed: ${why}). ` +
        `Compare with a file instead: npm run schema:check -- <old-schema-file>`,
    );
  }
}

if (require.main === module) {
  runSchemaCheck(process.argv.slice(2)).then(
    (result) => {
      for (const line of result.lines) console.log(line);
      if (result.breaking) process.exitCode = 1;
    },
    (error: unknown) => {
      console.error(error instanceof SchemaCheckError ? error.message : error);
      process.exitCode = 2;
    },
  );
}
