/**
 * `xenrr symbols <trace|kernel> -o FILE.elf [--dom N] [--symbols FILE]`:
 * a symbol file for gdb (`file FILE.elf` or `symbol-file FILE.elf`) for a
 * kernel that ships without one, Debian's stripped bzImage say: its
 * sections, function and object symbols with sizes, build-id, and its ORC
 * unwind tables as .debug_frame (image/symbol-file.ts). The names come from
 * `--symbols` (a System.map, an unstripped vmlinux), else from what the
 * trace recorded for the domain, else from the kernel itself (.symtab, else
 * kallsyms). `xenrr gdbserver` hands gdb the same file when gdb has none.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { imageOverrides, UsageError } from './errors.js';
import { checkImages, domainOption, headerDomains, inputFile, outputFile } from './inputs.js';
import type { SymbolTable } from '../image/symbol-table.js';

type Options = { output: string; dom?: string; symbols?: string; image?: string[] };

export function registerSymbols(program: Command): void {
  program
    .command('symbols')
    .description("write a symbol file for gdb (symbols with sizes, sections, build-id, ORC unwind as .debug_frame) for a trace's kernel or a kernel image")
    .argument('<input>', 'trace file, or a kernel image (ELF or bzImage)')
    .requiredOption('-o, --output <file>', 'ELF file to write')
    .option('--dom <id|name>', "the trace's domain (default: the first)")
    .option('--symbols <file>', 'names from this System.map or unstripped vmlinux instead')
    .option('--image <name=path...>', 'kernel image for a domain (default: the recorded one)')
    .action(async (input: string, o: Options) => symbolsCommand(input, o));
}

/** The kernel ELF and the symbol table for it. */
async function fromInput(input: string, o: Options): Promise<{ elf: Uint8Array; table: SymbolTable | null; what: string }> {
  inputFile(input, 'a trace or a kernel image');
  const [{ FILE_MAGIC }, { isBzImage }, { ImageError, kernelImage }, { kernelTable, symbolFileTable }, { findImage }, { loadSymbolTables }, { checkSymbolFile }, { openTrace }] = await Promise.all([
    import('../../trace/schema.js'), import('../image/bzimage.js'), import('../image/kernel-image.js'), import('../image/symbol-table.js'),
    import('../images.js'), import('../symbols.js'), import('./symbol-args.js'), import('./trace-cmds.js'),
  ]);
  const isKernelFile = (b: Uint8Array): boolean => (b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) || isBzImage(b);
  if (o.symbols !== undefined) checkSymbolFile('--symbols', o.symbols);
  const given = o.symbols === undefined ? null : symbolFileTable(new Uint8Array(readFileSync(o.symbols)));
  const bytes = new Uint8Array(readFileSync(input));
  if (isKernelFile(bytes)) {
    if (o.dom !== undefined || o.image !== undefined) throw new UsageError(`${input}: --dom and --image choose a trace's kernel; this is a kernel image`);
    try {
      const elf = kernelImage(bytes).elf;
      return { elf, table: given ?? kernelTable(elf), what: input };
    } catch (e) {
      if (e instanceof ImageError) throw new UsageError(`${input}: ${e.message}`);
      throw e;
    }
  }
  if (Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== FILE_MAGIC) throw new UsageError(`${input}: neither a xenrr trace nor a kernel image (ELF or bzImage)`);
  const h = (await openTrace(input)).header;
  const domains = headerDomains(h);
  const d = o.dom === undefined ? domains[0] : domainOption(o.dom, domains, input);
  if (d === undefined) throw new UsageError(`${input}: the trace has no domains`);
  const overrides = imageOverrides(o.image);
  checkImages(overrides, domains, input);
  const found = findImage(h, d.id - 1, { overrides, trace: input });
  if (typeof found === 'string') throw new UsageError(found);
  let elf: Uint8Array;
  try {
    elf = kernelImage(new Uint8Array(found.bytes)).elf;
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`${found.path}: ${e.message}`);
    throw e;
  }
  const table = given ?? loadSymbolTables(h, overrides, new Map(), input).get(d.id) ?? null;
  return { elf, table, what: `domain ${d.id} (${d.name}) of ${input}: ${found.path}` };
}

export async function symbolsCommand(input: string, o: Options): Promise<void> {
  const { elf, table, what } = await fromInput(input, o);
  if (table === null) throw new UsageError(`${what}: no symbols (neither a symbol table nor kallsyms); give a System.map or vmlinux with --symbols`);
  outputFile(o.output, 'a symbol file', [input, ...(o.symbols === undefined ? [] : [o.symbols])]);
  const { symbolFile } = await import('../image/symbol-file.js');
  const f = symbolFile(elf, table);
  writeFileSync(o.output, f.bytes);
  const unwind = f.unwindRows > 0 ? `, ${f.unwindRows} ORC rows as .debug_frame` : ', no ORC tables';
  const id = f.buildId === null ? '' : `, build-id ${f.buildId}`;
  process.stdout.write(`${o.output}: ${f.symbols} symbols (${f.functions} functions) from ${table.source}${unwind}${id}, for ${what}\nin gdb: file ${o.output}  (or: symbol-file ${o.output})\n`);
}
