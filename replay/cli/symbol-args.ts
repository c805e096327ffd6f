/**
 * Command-line symbol files: checked when given, so a wrong path or a file
 * without symbols is one line and exit 2, not a silently bare dump.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ImageError } from '../image/bzimage.js';
import { symbolFileTable } from '../image/symbol-table.js';
import { UsageError } from './errors.js';

/**
 * `--symbols name=path` pairs: a symbol file (System.map, unstripped vmlinux,
 * or a kernel with kallsyms) for a domain; each must exist and hold symbols.
 */
export function symbolOverrides(list: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--symbols expects name=path, got '${item}'`);
    const path = item.slice(eq + 1);
    checkSymbolFile('--symbols', path);
    m.set(item.slice(0, eq), path);
  }
  return m;
}

/** A symbol file must exist and hold symbols: else a UsageError naming `flag` and the file. */
export function checkSymbolFile(flag: string, path: string): void {
  if (!existsSync(path)) throw new UsageError(`${flag} ${path}: no such file`);
  try {
    symbolFileTable(new Uint8Array(readFileSync(path)));
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`${flag} ${path}: ${e.message}`);
    throw e;
  }
}
