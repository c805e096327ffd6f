/**
 * Builds a native oracle helper (a C file beside the tests) into
 * build/oracle/ with the host's gcc when the binary is missing or older than
 * its source. Test-only: the host-CPU oracles use it, nothing in the
 * simulator does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Compiles `source` to `binary` (gcc -O2) unless it is up to date; `what` names it in errors. */
export function buildNative(source: string, binary: string, what: string): void {
  const src = mtime(source);
  if (src === null) throw new Error(`${what}: missing ${source}`);
  const bin = mtime(binary);
  if (bin !== null && bin >= src) return;
  mkdirSync(dirname(binary), { recursive: true });
  // Built under a private name and renamed, so parallel test workers never
  // execute a half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', '-o', tmp, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(tmp, binary);
}
