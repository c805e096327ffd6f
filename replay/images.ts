/**
 * A trace's scenario and kernel images, named so that the same run recorded
 * from any directory gives the same bytes: the scenario by its identity
 * (name and sha256 of its canonical JSON), each image as the scenario names
 * it (a corpus kernel name, or a path relative to the scenario file) with
 * its sha256, never by where the files were on the recording machine.
 *
 * Replay looks for an image, in order: `--image` (taken as given), the
 * resolved path older traces recorded, the corpus build for a corpus name,
 * the name relative to the working directory, to the trace's directory, and
 * to every corpus scenario file with the trace's identity, and last a file
 * of that name in the corpus build. The first file whose sha256 is the
 * recorded one is the image.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskPath, kernelPath, parseScenario, type Scenario } from '../sim/scenario.js';
import type { HeaderData } from '../trace/schema.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
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

/** Files named `base` in the corpus build (build/corpus/pv and below, or build/corpus/disks for disk images). */
function corpusImages(base: string, disk: boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const f of existsSync(dir) ? readdirSync(dir) : []) {
      const p = join(dir, f);
      if (f === base) out.push(p);
      else if (!f.includes('.') && statSync(p).isDirectory()) walk(p);
    }
  };
  walk(join(ROOT, 'build', 'corpus', disk ? 'disks' : 'pv'));
  return out;
}

/** A disk image of the header (role "disk"): the domain it belongs to and the scenario's name for it. */
const isDisk = (img: { role: string }): boolean => img.role === 'disk';

/** The header's images of one role, with their index in the header: kernels (of older traces, every image) or disks. */
export function imagesOf(h: HeaderData, role: 'kernel' | 'disk'): number[] {
  return h.images.flatMap((img, k) => ((role === 'disk') === isDisk(img) ? [k] : []));
}

export type FoundImage = { path: string; bytes: Buffer; given: boolean };

/**
 * The file of image `k` of a trace (`trace`: the trace's path, a place to
 * look), or a one-line reason it was not found. `--image` overrides are
 * used as given, whatever their hash.
 */
export function findImage(h: HeaderData, k: number, opts: { overrides?: Map<string, string>; trace?: string } = {}): FoundImage | string {
  const img = h.images[k];
  if (img === undefined) return `the trace names no image ${k}`;
  const disk = isDisk(img);
  const what = disk ? `disk image ${img.name} of domain '${img.domain}'` : `image for domain '${img.domain}'`;
  const given = disk ? undefined : opts.overrides?.get(img.domain);
  if (given !== undefined) return existsSync(given) && statSync(given).isFile() ? { path: given, bytes: readFileSync(given), given: true } : `image for domain '${img.domain}' not found: ${given}`;
  const name = disk ? img.name : imageName(h, k);
  const at = (dir: string): string => (disk ? diskPath : kernelPath)({ file: join(dir, 'scenario.json') } as Scenario, name);
  const tried: string[] = [];
  const candidates = function* (): Generator<string> {
    if (img.path) yield img.path;
    if (name === '') return;
    yield at(process.cwd());
    if (opts.trace !== undefined) yield at(dirname(resolve(opts.trace)));
    const id = headerIdentity(h);
    if (id.sha256 !== '') for (const f of corpusScenarios(id.sha256)) yield at(dirname(f));
    yield* corpusImages(basename(name), disk);
  };
  let differs: string | null = null;
  for (const p of candidates()) {
    if (tried.includes(p)) continue;
    tried.push(p);
    if (!existsSync(p) || !statSync(p).isFile()) continue;
    const bytes = readFileSync(p);
    if (sha256(bytes).equals(Buffer.from(img.sha256))) return { path: p, bytes, given: false };
    differs ??= p;
  }
  const give = disk ? 'replay needs the image the run started with' : `give the right one with --image ${img.domain}=PATH`;
  if (differs !== null) return `${what} differs from the recorded one: ${differs} (sha256 ${short(sha256(readFileSync(differs)))}, recorded ${short(img.sha256)}; ${give})`;
  return `${what} not found: ${tried.join(', ') || 'nowhere to look'} (the scenario names it '${name}', sha256 ${short(img.sha256)}${disk ? '' : `; give it with --image ${img.domain}=PATH`})`;
}
