/**
 * `xenrr run [kernel.elf ...]`: run guests to completion and print their
 * console output and a summary. With no argument it runs the built-in
 * default: the compute guests of the corpus on the bare core.
 *
 * Until the Xen PV machine exists, images run on the flat harness (paging
 * off, console on port 0xE9, hlt to stop).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ElfError } from '../../sim/elf.js';
import { runFlat, type FlatResult } from '../../sim/cpu/flat.js';
import { positiveInt, UsageError } from './errors.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format'].map((n) => `${ROOT}build/corpus/${n}.elf`);

type RunOpts = { maxInsns?: string; mem?: string; json?: boolean };

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run guest images to completion and print their console output and a summary')
    .argument('[images...]', 'guest ELF images (default: the compute guests in build/corpus)')
    .option('--max-insns <n>', 'instruction budget per guest', '2000000000')
    .option('--mem <MiB>', 'guest memory in MiB', '16')
    .option('--json', 'print the summary as JSON')
    .action((images: string[], opts: RunOpts) => runCommand(images, opts));
}

function load(path: string): Uint8Array {
  if (!existsSync(path)) {
    const hint = DEFAULT_GUESTS.includes(path) ? ' (run `npm run build` first)' : '';
    throw new UsageError(`${path}: no such file${hint}`);
  }
  return readFileSync(path);
}

function runCommand(images: string[], opts: RunOpts): void {
  const paths = images.length > 0 ? images : DEFAULT_GUESTS;
  const maxInsns = positiveInt('--max-insns', opts.maxInsns ?? '2000000000');
  const memory = positiveInt('--mem', opts.mem ?? '16') << 20;
  const rows: Array<{ image: string; result: FlatResult; seconds: number }> = [];
  for (const path of paths) {
    const image = load(path);
    const t0 = process.hrtime.bigint();
    let result: FlatResult;
    try {
      result = runFlat(image, { maxInsns, memory });
    } catch (e) {
      if (e instanceof ElfError || e instanceof RangeError) throw new UsageError(`${path}: ${e.message}`);
      throw e;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rows.push({ image: path, result, seconds });
    if (!opts.json) {
      const name = path.split('/').pop();
      for (const line of result.output.replace(/\n$/, '').split('\n')) process.stdout.write(`[${name}] ${line}\n`);
    }
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows.map(({ image, result }) => ({ image, ...result, exception: result.exception && { ...result.exception, rip: `0x${result.exception.rip.toString(16)}` } })), null, 2)}\n`);
  } else {
    process.stdout.write('\nimage          stop       exit  instructions       MIPS\n');
    for (const { image, result, seconds } of rows) {
      const name = (image.split('/').pop() ?? image).padEnd(14);
      const stop = result.stop === 'exception' ? `#${result.exception!.vector}@${result.exception!.rip.toString(16)}` : result.stop;
      process.stdout.write(`${name} ${stop.padEnd(10)} ${String(result.exitCode ?? '-').padStart(4)}  ${String(result.instructions).padStart(12)}  ${(result.instructions / seconds / 1e6).toFixed(1).padStart(9)}\n`);
    }
  }
  if (rows.some((r) => r.result.stop !== 'halt' || r.result.exitCode !== 0)) process.exitCode = 1;
}
