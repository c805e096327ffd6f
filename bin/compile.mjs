/**
 * xenrr's TypeScript compiled for running: bin/main.ts (and the gdbserver's
 * worker thread) with everything they import, node_modules included but
 * native addons, bundled by esbuild into dist/ (ES modules, one chunk per
 * lazily loaded command, source maps beside them). Node then loads a few
 * files instead of hundreds of modules, needs no TypeScript loader, and Ink
 * comes without the compat layer of es-toolkit it does not use. Type
 * checking is `npm run typecheck`'s job, not this one's.
 *
 * `node bin/compile.mjs` (npm run build:ts; npm ci runs it as `prepare`)
 * builds. bin/xenrr calls ensureCompiled() before every command, so a
 * checkout always runs its current sources: when any input of the last
 * build is newer than that build (or gone), it compiles again (half a second
 * on an idle machine), holding dist/.lock so that concurrent starts build
 * once. Compiling rather than refusing to run stale code: edit-and-run stays
 * one step, as it was with a TypeScript loader, and `git bisect run
 * ./bin/xenrr ...` over xenrr's own history works without a build step.
 * Checking costs a stat per source file, about a millisecond.
 *
 * dist/build.json records when the last build started and its inputs (our
 * sources, not node_modules, plus the lockfiles and configs that shape it);
 * it is written last, so an interrupted build is seen as stale.
 *
 * Plain JavaScript: this runs before anything is compiled.
 */
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = `${ROOT}dist/`;
const MANIFEST = `${DIST}build.json`;
const LOCK = `${DIST}.lock`;
/** Inputs esbuild does not report: they change what it builds or what the bundle contains. */
const CONFIG = ['package.json', 'package-lock.json', 'node_modules/.package-lock.json', 'tsconfig.json', 'bin/compile.mjs'];
/** No build takes this long: an older lock was left by a process that died. */
const LOCK_MAX_MS = 5 * 60 * 1000;
/** A superseded output is deleted by a rebuild once this old: a running xenrr may still load it lazily. */
const KEEP_MS = 24 * 3600 * 1000;

/** The entry point bin/xenrr imports, as a URL. */
export const MAIN = pathToFileURL(`${DIST}main.js`).href;

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Why dist/ does not hold a build of the current sources, or null if it does. */
export function staleReason() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return 'dist/ holds no complete build';
  }
  for (const f of manifest.inputs) {
    const t = mtime(`${ROOT}${f}`);
    if (t === null && !manifest.optional.includes(f)) return `${f} is gone`;
    if (t !== null && t > manifest.started) return `${f} changed`;
  }
  return null;
}

/** Build dist/. `pruneAll`: delete every output this build did not write (else only old ones). */
export async function compile({ pruneAll = false } = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('esbuild is not installed: run `npm ci`');
  }
  mkdirSync(DIST, { recursive: true });
  rmSync(MANIFEST, { force: true });
  const started = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    // The gdbserver's replay (replay/gdb/threaded.ts) and the trace writer (trace/writer-thread.ts) run in worker threads, from files of their own.
    entryPoints: { main: 'bin/main.ts', 'gdb-worker': 'replay/gdb/worker.ts', 'writer-worker': 'trace/writer-worker.ts' },
    outdir: 'dist',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Bundled CommonJS (commander, React, protobufjs) calls require() for Node's modules.
    banner: { js: "import { createRequire as __xenrrRequire } from 'node:module'; const require = __xenrrRequire(import.meta.url);" },
    // Ink imports React's devtools when DEV=true, a package xenrr does not install: left to fail at run time,
    // which tui/cli.tsx makes sure never comes. The kernel decompressors' native addons (replay/image/codecs.ts
    // require()s them when a kernel needs one) load from node_modules, as compiled for this machine.
    external: ['react-devtools-core', 'lzma-native', 'lz4-napi'],
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'warning',
    // protobufjs finds Node's modules through eval('require'), by design.
    logOverride: { 'direct-eval': 'silent' },
  });
  const written = new Set([MANIFEST, LOCK]);
  for (const out of result.outputFiles) {
    written.add(out.path);
    // Unchanged outputs are left alone and changed ones replaced whole: a running xenrr never reads half a file.
    let same = false;
    try {
      same = Buffer.compare(readFileSync(out.path), out.contents) === 0;
    } catch {
      // new output
    }
    if (same) continue;
    mkdirSync(out.path.slice(0, out.path.lastIndexOf('/')), { recursive: true });
    writeFileSync(`${out.path}.tmp${process.pid}`, out.contents);
    renameSync(`${out.path}.tmp${process.pid}`, out.path);
  }
  prune(DIST, written, pruneAll ? Infinity : Date.now() - KEEP_MS);
  const ours = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'));
  const optional = CONFIG.filter((f) => mtime(`${ROOT}${f}`) === null);
  writeFileSync(MANIFEST, `${JSON.stringify({ started, inputs: [...CONFIG, ...ours], optional }, null, 1)}\n`);
}

function prune(dir, keep, before) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory()) prune(`${path}/`, keep, before);
    else if (!keep.has(path) && (before === Infinity || (mtime(path) ?? 0) < before)) rmSync(path, { force: true });
  }
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Take dist/.lock (it holds the holder's pid), waiting while another live process holds it. */
function lock() {
  mkdirSync(DIST, { recursive: true });
  const mine = `${LOCK}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  try {
    for (;;) {
      try {
        linkSync(mine, LOCK); // atomic: the lock appears with its pid in it, or not at all
        return;
      } catch (e) {
        if (e.code !== 'EEXIST') throw e;
      }
      // A holder that died (say, ^C while compiling) leaves the lock behind; so does one whose pid is reused.
      try {
        if (Date.now() - (mtime(LOCK) ?? Date.now()) > LOCK_MAX_MS) throw Object.assign(new Error(), { code: 'ESRCH' });
        process.kill(Number(readFileSync(LOCK, 'utf8')), 0);
      } catch (e) {
        if (e.code === 'ESRCH') rmSync(LOCK, { force: true });
      }
      sleep(50);
    }
  } finally {
    rmSync(mine, { force: true });
  }
}

/** Make sure dist/ is a build of the current sources; compile (saying so on stderr) if not. */
export async function ensureCompiled() {
  if (staleReason() === null) return;
  lock();
  try {
    const why = staleReason();
    if (why === null) return;
    process.stderr.write(`xenrr: compiling to dist/ (${why})\n`);
    await compile();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** vitest's globalSetup (vitest.config.ts). */
export const setup = ensureCompiled;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  lock();
  try {
    await compile({ pruneAll: true });
  } finally {
    rmSync(LOCK, { force: true });
  }
}
