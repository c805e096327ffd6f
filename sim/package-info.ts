/**
 * Where xenrr is installed and which version it is, from its package.json.
 *
 * The root is found by walking up from this module's own file to the first
 * directory holding a package.json, so the answer is the same whether the
 * code runs from its TypeScript source (sim/) or from the bundle in dist/.
 * Files read at run time (the trace schema, corpus kernels, the default
 * scenario) are located from ROOT, never relative to `import.meta.url`,
 * whose directory differs between the two.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return `${dir}/`;
    if (dirname(dir) === dir) throw new Error(`no package.json in any directory above ${file}`);
  }
}

/** The package root, with a trailing slash. */
export const ROOT = findRoot(fileURLToPath(import.meta.url));
/** package.json's version: what `--version` prints and what a trace header records. */
export const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
