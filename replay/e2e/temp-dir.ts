/**
 * Temporary directories for tests, removed when they are done: tests must
 * not leave `xenrr-*` folders behind in the system temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

const make = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
const remove = (dir: string) => (): void => rmSync(dir, { recursive: true, force: true });

/** Inside a test: a directory removed when the test finishes, passed or failed. */
export function testTempDir(prefix: string): string {
  const dir = make(prefix);
  onTestFinished(remove(dir));
  return dir;
}

/** At the top level of a test file: a directory removed after all its tests. */
export function fileTempDir(prefix: string): string {
  const dir = make(prefix);
  afterAll(remove(dir));
  return dir;
}
