import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '..', 'src');

/** Top-level folder of a path inside src/; '.' for the files directly in src/. */
const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0] : '.');

/** Every relative import in src/: importing file and imported module, both relative to src/ with '/' separators. */
function relativeImports(): Array<{ file: string; target: string }> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  return files.flatMap((file) =>
    [...readFileSync(path.join(SRC, file), 'utf8').matchAll(/\bfrom '(\.{1,2}\/[^']*)'/g)].map((match) => ({
      file: file.split(path.sep).join('/'),
      target: path.relative(SRC, path.resolve(SRC, path.dirname(file), match[1])).split(path.sep).join('/'),
    })),
  );
}

describe('the folders of src/', () => {
  it('never import each other: every arrow between two folders runs one way', () => {
    const arrows = new Set(
      relativeImports()
        .map(({ file, target }) => [folderOf(file), folderOf(target)])
        .filter(([from, to]) => from !== to && from !== '.' && to !== '.')
        .map(([from, to]) => `${from} -> ${to}`),
    );
    const twoWay = [...arrows].filter((arrow) => arrows.has(arrow.split(' -> ').reverse().join(' -> ')));
    expect(twoWay).toEqual([]);
  });

  it('db/ imports no domain code: nothing outside db/ but config', () => {
    const outside = relativeImports().filter(({ file, target }) => folderOf(file) === 'db' && folderOf(target) !== 'db' && target !== 'config');
    expect(outside).toEqual([]);
  });
});
