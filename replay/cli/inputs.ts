/**
 * What a user names on the command line, checked before any work starts:
 * files to read and to write, seeds, sizes, sequence numbers, domains and
 * the images given for them. Every failure is a UsageError (one line, exit
 * 2) that says what was given, where, and what would be accepted.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ElfError, parseElf } from '../../sim/elf.js';
import { ImageError, kernelImage } from '../image/kernel-image.js';
import { domainIds } from '../../sim/domain-ids.js';
import { UsageError } from './errors.js';

/** Why a file system call failed, as a person reads it (null: not a file system error). */
export function fsReason(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'a component of the path is not a directory';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'ENAMETOOLONG': return 'file name too long';
    case 'ELOOP': return 'too many levels of symbolic links';
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    case 'EIO': return 'input/output error';
    default: return typeof code === 'string' && code.startsWith('E') ? code : null;
  }
}

/** `path` is a file to read (`what`: "a trace file"), or a one-line error: missing, a directory, unreadable. */
export function inputFile(path: string, what: string): void {
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${path}: is a directory, expected ${what}`);
    accessSync(path, constants.R_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: ${fsReason(e) ?? String(e)}`);
  }
}

/**
 * `path` can be written as a file (`what`: "a trace file"): not a directory,
 * in a directory that exists and is writable, not a file it is not allowed
 * to replace, and none of `inputs` (a run must not overwrite what it reads).
 */
export function outputFile(path: string, what: string, inputs: string[] = []): void {
  if (inputs.some((i) => resolve(i) === resolve(path))) throw new UsageError(`${path}: is an input of this command; refusing to overwrite it with ${what}`);
  let st;
  try {
    st = statSync(path);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) throw new UsageError(`${path}: is a directory, expected ${what} to write`);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`${path}: cannot write: ${dir} is not a directory`);
    accessSync(st === null ? dir : path, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no directory ${dir}` : (fsReason(e) ?? String(e));
    throw new UsageError(`${path}: cannot write: ${why}`);
  }
}

const U32 = /^(\d+|0x[0-9a-f]+)$/i;

/** `--seed`: an unsigned 32-bit integer, decimal or 0x hex. */
export function seedOption(value: string, name = '--seed'): number {
  const n = U32.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new UsageError(`${name} must be an unsigned 32-bit integer (0 to 4294967295, decimal or 0x hex), got '${value}'`);
  return n;
}

/** A whole number option within [min, max] (`unit` names what it counts, for the message). */
export function rangeOption(name: string, value: string, min: number, max: number, unit = ''): number {
  const n = /^\d+$/.test(value.replace(/_/g, '')) ? Number(value.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be ${min} to ${max}${unit ? ` ${unit}` : ''}, got '${value}'`);
  return n;
}

/** A sequence-number option: a non-negative integer. */
export function seqOption(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = /^\d+$/.test(v.replace(/_/g, '')) ? Number(v.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} must be a sequence number, got '${v}'`);
  return n;
}

/** `--from`/`--to` as a half-open range [from, to + 1); `--to` before `--from` is an error. */
export function seqRange(from: string | undefined, to: string | undefined): { from: number; end: number } {
  const f = seqOption('--from', from, 0);
  const t = seqOption('--to', to, Number.MAX_SAFE_INTEGER - 1);
  if (t < f) throw new UsageError(`--to ${t} is before --from ${f}`);
  return { from: f, end: t + 1 };
}

export type DomainInfo = { id: number; name: string };

/** The domains a trace header names, numbered as the machine numbered them (domainIds). */
export function headerDomains(h: { scenarioJson: string; images: Array<{ domain: string; role: string }> }): DomainInfo[] {
  try {
    const s = JSON.parse(h.scenarioJson) as { domains?: Array<{ name?: unknown; dom0?: unknown }> };
    if (Array.isArray(s.domains)) {
      const ids = domainIds(s.domains.map((d) => ({ dom0: d?.dom0 === true })));
      return s.domains.map((d, k) => ({ id: ids[k]!, name: typeof d?.name === 'string' ? d.name : `dom${ids[k]}` }));
    }
  } catch {
    // fall back to the image list
  }
  return h.images.filter((img) => (img.role || 'kernel') === 'kernel').map((img, k) => ({ id: k + 1, name: img.domain }));
}

const listDomains = (ds: DomainInfo[]): string => ds.map((d) => (d.id < 0 ? d.name : `${d.id} ${d.name}`)).join(', ') || 'none';

/** A `--dom` value (an id or a name) as a domain of `where`, or an error naming the domains there. */
export function domainOption(value: string, domains: DomainInfo[], where: string): DomainInfo {
  const d = domains.find((x) => (/^\d+$/.test(value) ? x.id === Number(value) : x.name === value));
  if (d === undefined) throw new UsageError(`--dom: no domain '${value}' in ${where} (domains: ${listDomains(domains)})`);
  return d;
}

/** Every `--image` name is a domain of `where`, or an error naming the domains there. */
export function checkImageNames(overrides: Map<string, string>, domains: DomainInfo[], where: string, flag = '--image'): void {
  for (const [name, path] of overrides) {
    if (!domains.some((d) => d.name === name)) throw new UsageError(`${flag} ${name}=${path}: no domain '${name}' in ${where} (domains: ${domains.map((d) => d.name).join(', ') || 'none'})`);
  }
}

/**
 * `--image name=path` overrides checked against the domains of `where`: an
 * unknown name is an error naming the domains; the path must be a readable
 * file, and with `check` pass it (an ELF, a PV kernel) as well.
 */
export function checkImages(overrides: Map<string, string>, domains: DomainInfo[], where: string, check?: (path: string) => string | null, flag = '--image'): void {
  checkImageNames(overrides, domains, where, flag);
  for (const [name, path] of overrides) {
    try {
      inputFile(path, 'a kernel image');
    } catch (e) {
      throw new UsageError(`${flag} ${name}=${(e as Error).message}`);
    }
    const problem = check?.(path) ?? null;
    if (problem !== null) throw new UsageError(`${flag} ${name}=${path}: ${problem}`);
  }
}

/** What is wrong with `path` as a kernel image (an ELF, or a bzImage holding one, as `record` takes them): not one, or (`pv`) not a Xen PV kernel; null when fine. */
export function imageProblem(path: string, pv: boolean): string | null {
  let notes;
  try {
    notes = parseElf(kernelImage(readFileSync(path)).elf).notes;
  } catch (e) {
    if (e instanceof ElfError || e instanceof ImageError) return e.message;
    throw e;
  }
  return pv && !notes.some((n) => n.name === 'Xen') ? 'not a Xen PV kernel (no Xen ELF notes)' : null;
}
