/**
 * A trace's scenario and images (each domain's kernel, ramdisk, symbol file
 * and disks, by role), named so that the same run recorded from any
 * directory gives the same bytes: the scenario by its identity (name and
 * sha256 of its canonical JSON), each image as the scenario names it (a
 * corpus kernel or disk image name, or a path relative to the scenario file)
 * with its sha256, never by where the files were on the recording machine.
 *
 * Replay looks for an image, in order: `--image` (taken as given), the
 * resolved path older traces recorded, the corpus build for a corpus name,
 * the name relative to the working directory, to the trace's directory, and
 * to every corpus scenario file with the trace's identity, and last a file
 * of that name in the corpus build or among the Debian kernels `npm run
 * kernels` fetched (build/kernels). The first file whose sha256 is the
 * recorded one is the image.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ROOT } from '../sim/package-info.js';
import { diskPath, kernelPath, parseScenario, type Scenario } from '../sim/scenario.js';
import { sha256 } from './image/kernel-image.js';
import type { HeaderData } from '../trace/schema.js';

/**
 * A file's bytes and sha256, read once per process while its size and
 * modification time stay the same: opening a replay session looks up each
 * image several times (the machine, its symbols, its ramdisk), and a
 * Debian kernel costs tens of milliseconds to read and hash each time.
 */
const files = new Map<string, { size: number; mtimeMs: number; bytes: Buffer; sha: Buffer }>();
function readHashed(p: string): { bytes: Buffer; sha: Buffer } {
  const st = statSync(p);
  const hit = files.get(p);
  if (hit !== undefined && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit;
  const bytes = readFileSync(p);
  const e = { size: st.size, mtimeMs: st.mtimeMs, bytes, sha: sha256(bytes) };
  files.set(p, e);
  return e;
}
const short = (h: Uint8Array): string => `${Buffer.from(h).toString('hex').slice(0, 16)}...`;

/** JSON with every object's keys sorted, no whitespace. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]])) : x);
}

/** A scenario's identity: its name, and the sha256 of its canonical JSON (without the file it came from). */
export function scenarioIdentity(s: Scenario): { name: string; sha256: Uint8Array } {
  const { file: _file, ...rest } = s;
  return { name: s.name, sha256: sha256(Buffer.from(canonicalJson(rest), 'utf8')) };
}

/** How the header names image `k`: its own name, or (older traces) the kernel its scenario names. */
export function imageName(h: HeaderData, k: number): string {
  const img = h.images[k];
  if (img?.name) return img.name;
  const doms = (JSON.parse(h.scenarioJson) as { domains?: Array<{ kernel?: string }> }).domains;
  return doms?.[k]?.kernel ?? img?.path ?? '';
}

/** The scenario's identity as the header records it ('' and empty for traces that predate it). */
export function headerIdentity(h: HeaderData): { name: string; sha256: string } {
  const name = h.scenarioName || ((JSON.parse(h.scenarioJson) as { name?: string }).name ?? '');
  return { name, sha256: Buffer.from(h.scenarioSha256 ?? []).toString('hex') };
}

/** Corpus scenario files (recursively) with this identity. */
let corpusIds: Array<{ file: string; sha: string }> | null = null;
function corpusScenarios(sha: string): string[] {
  if (corpusIds === null) {
    const ids: Array<{ file: string; sha: string }> = [];
    const walk = (dir: string): void => {
      for (const f of existsSync(dir) ? readdirSync(dir) : []) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (f.endsWith('.json')) {
          try {
            ids.push({ file: p, sha: Buffer.from(scenarioIdentity(parseScenario(JSON.parse(readFileSync(p, 'utf8')), p)).sha256).toString('hex') });
          } catch {
            // not a scenario
          }
        }
      }
    };
    walk(join(ROOT, 'corpus', 'scenarios'));
    corpusIds = ids;
  }
  return corpusIds.filter((c) => c.sha === sha).map((c) => c.file);
}

/** Files named `base` in the corpus build (build/corpus and below) and the fetched kernels (build/kernels). */
function corpusImages(base: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      const p = join(dir, f);
      if (f === base) out.push(p);
      else if (!f.includes('.') && statSync(p).isDirectory()) walk(p);
    }
  };
  walk(join(ROOT, 'build', 'corpus'));
  walk(join(ROOT, 'build', 'kernels'));
  return out;
}

export type FoundImage = { path: string; bytes: Buffer; given: boolean };

/** The index in the header of domain `domain`'s image of `role` ('kernel', 'ramdisk', 'symbols'), or -1. */
export function imageIndex(h: HeaderData, role: string, domain: string): number {
  return h.images.findIndex((i) => (i.role || 'kernel') === role && i.domain === domain);
}

/** The indices in the header of domain `domain`'s images of `role`, in header order (a domain's disks, in the scenario's order). */
export function imageIndices(h: HeaderData, role: string, domain: string): number[] {
  return h.images.flatMap((i, k) => ((i.role || 'kernel') === role && i.domain === domain ? [k] : []));
}

/**
 * The file of image `k` of a trace (`trace`: the trace's path, a place to
 * look), or a one-line reason it was not found. `--image` overrides are
 * used as given, whatever their hash.
 */
export function findImage(h: HeaderData, k: number, opts: { overrides?: Map<string, string>; trace?: string } = {}): FoundImage | string {
  const img = h.images[k];
  if (img === undefined) return `the trace names no image ${k}`;
  const role = img.role || 'kernel';
  const kernel = role === 'kernel';
  const disk = role === 'disk';
  const name = imageName(h, k);
  const what = disk ? `disk image ${name} of domain '${img.domain}'` : `${kernel ? 'image' : role} for domain '${img.domain}'`;
  const given = kernel ? opts.overrides?.get(img.domain) : undefined;
  if (given !== undefined) return existsSync(given) && statSync(given).isFile() ? { path: given, bytes: readFileSync(given), given: true } : `image for domain '${img.domain}' not found: ${given}`;
  // A kernel may be a corpus name, a disk a corpus disk image; a ramdisk or symbol file is a path relative to the scenario.
  const scenarioAt = (dir: string): Scenario => ({ file: join(dir, 'scenario.json') }) as Scenario;
  const at = (dir: string): string => (kernel ? kernelPath(scenarioAt(dir), name) : disk ? diskPath(scenarioAt(dir), name) : resolve(dir, name));
  const tried: string[] = [];
  const candidates = function* (): Generator<string> {
    if (img.path) yield img.path;
    if (name === '') return;
    yield at(process.cwd());
    if (opts.trace !== undefined) yield at(dirname(resolve(opts.trace)));
    const id = headerIdentity(h);
    if (id.sha256 !== '') for (const f of corpusScenarios(id.sha256)) yield at(dirname(f));
    yield* corpusImages(basename(name));
  };
  let differs: string | null = null;
  for (const p of candidates()) {
    if (tried.includes(p)) continue;
    tried.push(p);
    if (!existsSync(p) || !statSync(p).isFile()) continue;
    const { bytes, sha } = readHashed(p);
    if (sha.equals(Buffer.from(img.sha256))) return { path: p, bytes, given: false };
    differs ??= p;
  }
  const flag = kernel ? '--image' : role === 'symbols' ? '--symbols' : null;
  const hint = (verb: string): string => (flag === null ? '' : `; ${verb} with ${flag} ${img.domain}=PATH`);
  // A disk's bytes are the run's input: only the image it started with replays it.
  const differsHint = disk ? '; replay needs the image the run started with' : hint('give the right one');
  if (differs !== null) return `${what} differs from the recorded one: ${differs} (sha256 ${short(readHashed(differs).sha)}, recorded ${short(img.sha256)}${differsHint})`;
  return `${what} not found: ${tried.join(', ') || 'nowhere to look'} (the scenario names it '${name}', sha256 ${short(img.sha256)}${hint('give it')})`;
}
