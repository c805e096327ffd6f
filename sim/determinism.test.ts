/**
 * Determinism rule 1 (design.md): nothing under sim/ may read the host
 * clock, randomness or timers, or use promises. Tests, the oracle (which runs
 * the host CPU on purpose) and benches are exempt.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SIM = fileURLToPath(new URL('.', import.meta.url));
const FORBIDDEN = /\b(Date\b|performance\.now|Math\.random|process\.hrtime|setTimeout|setInterval|setImmediate|queueMicrotask|Promise\b|async\s|await\s|crypto\.random)/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'oracle' ? [] : sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('sim/ determinism rules', () => {
  it('no clock, randomness, timers or promises in simulation code', () => {
    const offenders: string[] = [];
    for (const file of sources(SIM)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, k) => {
        const code = line.replace(/\/\/.*$|^\s*\*.*$/, '');
        if (FORBIDDEN.test(code)) offenders.push(`${file.slice(SIM.length)}:${k + 1}: ${line.trim()}`);
      });
    }
    expect(sources(SIM).length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});
