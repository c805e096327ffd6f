/**
 * The file gdb loads symbols from when it was started without one
 * (qXfer:exec-file, and the path `xenrr gdbserver` prints): a domain's
 * kernel image when it is an ELF with a symbol table of its own (the corpus
 * kernels, an unstripped vmlinux); otherwise (a stripped or bzImage kernel,
 * Debian's) a symbol file made from whatever names the domain's addresses
 * (its kallsyms, a System.map given at recording...) and its ORC unwind
 * tables (image/symbol-file.ts), as `xenrr symbols` writes it.
 *
 * Made files are kept in the user's cache directory ($XDG_CACHE_HOME/xenrr,
 * else ~/.cache/xenrr), named by a hash of what they are made from (the
 * kernel and its symbols), so the next session reuses them: gdb reads the
 * file, and a symbol file of Linux takes seconds to make.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { symtabTable } from '../image/symbol-table.js';
import { symbolFile } from '../image/symbol-file.js';
import type { ReplaySession } from '../session.js';

/** Bumped when the files made change, so that older ones are not reused. */
const FORMAT = 1;

export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'xenrr');
}

const isElfFile = (path: string): boolean => {
  const b = readFileSync(path);
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
};

/**
 * gdb's file for domain `dom`: the path, and a warning when a symbol file
 * was needed but could not be written (then the kernel image, as found).
 */
export function gdbFileFor(s: ReplaySession, dom: number): { path: string | null; warning?: string } {
  const image = s.imagePath(dom);
  const elf = s.kernelElf(dom);
  const table = s.symbolTable(dom);
  if (image === null || elf === null || table === null) return { path: image };
  if (isElfFile(image) && symtabTable(elf) !== null) return { path: image };
  const h = createHash('sha256').update(`xenrr symbols ${FORMAT}\n`).update(elf);
  for (const x of table.list()) h.update(`${x.value.toString(16)} ${x.type} ${x.bind} ${x.name}\n`);
  const dir = cacheDir();
  const path = join(dir, `${basename(image).replace(/[^\w.+-]/g, '_')}-${h.digest('hex').slice(0, 16)}.sym.elf`);
  if (existsSync(path)) return { path };
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, symbolFile(elf, table).bytes);
    renameSync(tmp, path);
    return { path };
  } catch (e) {
    return { path: image, warning: `cannot write gdb's symbol file into ${dir} (${(e as Error).message}); gdb gets the kernel image (\`xenrr symbols\` writes the file elsewhere)` };
  }
}
