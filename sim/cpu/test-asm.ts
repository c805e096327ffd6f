/**
 * Test helper: assemble Intel-syntax x86-64 with the host's GNU as into flat
 * bytes (origin 0), cached by content under build/asm-cache/.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CACHE = fileURLToPath(new URL('../../build/asm-cache/', import.meta.url));

export function asm(src: string): Uint8Array {
  const text = `.intel_syntax noprefix\n.text\n${src}\n`;
  const key = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const bin = `${CACHE}${key}.bin`;
  if (!existsSync(bin)) {
    mkdirSync(CACHE, { recursive: true });
    const s = `${CACHE}${key}.s`;
    const o = `${CACHE}${key}.o`;
    writeFileSync(s, text);
    execFileSync('as', ['--64', '-o', o, s]);
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', o, `${bin}.${process.pid}`]);
    execFileSync('mv', [`${bin}.${process.pid}`, bin]);
  }
  return new Uint8Array(readFileSync(bin));
}
