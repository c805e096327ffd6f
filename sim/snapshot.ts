/**
 * Complete machine snapshots, and restoring them: what a trace checkpoint
 * holds, so a reader can start anywhere (seek = restore the nearest
 * checkpoint + re-execute).
 *
 * A snapshot is taken only between scheduler slices (the `between` callback
 * of Machine.run): no vCPU is running, so every piece of state is in an
 * object field or in machine memory, and a machine restored from it and
 * `run` again continues event for event as the original did.
 *
 * What it holds:
 * - memory: every machine frame PhysMem has allocated, with its bytes,
 *   ascending MFN (the trace writer stores each distinct page once per
 *   trace). Guest RAM, page tables, shared_info/vcpu_info, rings, grant
 *   frames and the M2P are all in there, so they need nothing else. A
 *   recorder's series of snapshots (`changed`) gives only the bytes of
 *   frames PhysMem marked dirty since the previous one; a trace reader may
 *   give a page as a difference from the machine's memory as built (`base`).
 * - `stateJson`, canonical JSON (snapshot-codec.ts: sorted keys, the same
 *   state gives the same bytes) of everything else: per vCPU the core's
 *   architectural state (GPRs, RIP, materialized RFLAGS, selectors, FS/GS/
 *   kernel-GS bases, CPL, MMU settings, retired-instruction count) and every
 *   own field of Vcpu and Domain (taken generically, so a field added later
 *   is included, or the codec refuses it loudly); Xen's clock, event seq,
 *   boot wallclock and page-type tables; Frames' owner table and allocation
 *   cursor; the scheduler's position and counters; the whole xenstore
 *   (XenStore.snapshot) and dom0's (Dom0.snapshot: its event channels and
 *   grant maptrack, and every backend driver's own state: xenstore
 *   transports, consoles, block devices with their disks' written blocks).
 * Not state, and rebuilt empty on restore: decoded-block caches, JIT code,
 * TLBs, PhysMem code marks (caches are coherent with memory: every store
 * to a code page invalidates, every page-table update through Xen flushes).
 *
 * Classes whose fields are enumerated explicitly (Cpu, Mmu, Xen, Frames)
 * are checked against a list of known fields: a new field there throws a
 * SnapshotError until someone decides whether it is state.
 */
import { crc32 } from 'node:zlib';
import type { Machine, SchedState } from './machine.js';
import type { Dom0State } from './services/dom0.js';
import type { XsStoreState } from './services/xenstored.js';
import { decodeValue, encodeValue, refill, SnapshotError, type Json } from './snapshot-codec.js';
import { checkFields, cpuState, restoreCpu, type CpuState } from './snapshot-cpu.js';
import type { Domain } from './xen/domain.js';
import type { Vcpu } from './xen/vcpu.js';

export { SnapshotError } from './snapshot-codec.js';

/**
 * One allocated machine frame of a snapshot. `data`: its 4096 bytes; with
 * `base`, the page XOR frame `base` of the machine as built from the same
 * scenario before it ran (restore resolves it against the fresh machine it
 * restores into). `crc`, when given, is the crc32 of the page's real
 * bytes, checked on restore.
 */
export type SnapshotPage = { mfn: number; data: Uint8Array; base?: number; crc?: number };

export type MachineSnapshot = {
  /** the seq the next event gets */
  seq: number;
  /** virtual time, ns */
  time: number;
  /** UTF-8 canonical JSON of everything but memory */
  stateJson: Uint8Array;
  /** every allocated machine frame, ascending MFN */
  pages: SnapshotPage[];
};

/**
 * A recorder's snapshot (snapshotChanged): a frame not written since the
 * previous snapshot of its series has data null (it holds what it held then);
 * a written frame's data is a view of the live frame, valid until the
 * machine runs again (the recorder writes it at once; copy it to keep it).
 */
export type ChangedSnapshot = Omit<MachineSnapshot, 'pages'> & { pages: Array<{ mfn: number; data: Uint8Array | null }> };

/**
 * 2: dom0's services as one backend model (their state under `dom0`: ports,
 * grant maps, xenstore transports, consoles, the toolstack's disks and xl
 * creations, blkback). The vCPU and domain fields of Xen 4.17's PV model
 * (FIFO event channels, MSRs, runstates, NMIs...) are generic fields, and a
 * core's x87/SSE state is optional (cpu.fpu), so neither needed a number.
 */
const FORMAT = 2;
const PAGE = 4096;

/** Own fields of Vcpu / Domain that are not taken generically: references to other objects. */
const VCPU_SKIP = new Set(['cpu', 'guest', 'mem']);
const DOMAIN_SKIP = new Set(['vcpus']);
/** Fields fixed by construction: checked on restore, never written. */
const VCPU_IDENTITY = new Set(['id', 'domId']);
const DOMAIN_IDENTITY = new Set(['id', 'name', 'privileged', 'maxGrantFrames']);

/**
 * Every own field of Xen and Frames, state or not. Not state: `running` (null
 * between slices), `sliceStartIcount` and `hcStack` (meaningful only inside one),
 * `pos` (scratch for the event being emitted), the
 * M2P frame list and frame count (fixed by construction), references.
 */
const KNOWN = {
  Xen: [
    'domains', 'clock', 'running', 'sliceStartIcount', 'hcStack', 'pos', 'seq', 'bootWallclock', 'wallclock', 'onBackendKick', 'onBackendClosed', 'onDomainDown',
    'onNotify', 'onSleep', 'onStop', 'onHypercall', 'onConsole', 'onCrash', 'frames', 'sink', 'pages',
  ],
  Frames: ['mem', 'owner', 'xenSlots', 'next', 'm2pFrames', 'frameCount', 'legacyHole'],
} as const;

const checkKnown = (name: keyof typeof KNOWN, obj: object): void => checkFields(name, obj, KNOWN[name]);

/** The generic part: every own field of `obj` but `skip`, keys sorted by the codec. */
function fieldsOf(obj: object, skip: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!skip.has(k)) out[k] = v;
  return out;
}

function restoreFields(obj: object, s: Record<string, unknown>, skip: ReadonlySet<string>, identity: ReadonlySet<string>, where: string): void {
  const target = obj as Record<string, unknown>;
  const mine = Object.keys(obj).filter((k) => !skip.has(k));
  const theirs = Object.keys(s);
  const missing = mine.filter((k) => !(k in s));
  const extra = theirs.filter((k) => !mine.includes(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new SnapshotError(`${where}: fields differ from this build (missing ${missing.join(',') || '-'}, unknown ${extra.join(',') || '-'})`);
  }
  for (const k of mine) {
    if (identity.has(k)) {
      if (s[k] !== target[k]) throw new SnapshotError(`${where}.${k}: snapshot has ${String(s[k])}, this machine ${String(target[k])}`);
    } else refill(target, k, s[k], `${where}.${k}`);
  }
}

// ---- the machine --------------------------------------------------------------

type VcpuJ = { fields: Record<string, unknown>; cpu: CpuState };
type DomainJ = { fields: Record<string, unknown>; vcpus: VcpuJ[] };
type State = {
  format: number;
  quantum: number;
  frames: { count: number; cursor: number; owner: number[] };
  xen: { clock: number; seq: number; bootWallclock: number; wallclock?: { sec: number; nsec: number } | null; pages: Record<string, unknown> | null };
  sched: SchedState;
  domains: DomainJ[];
  store: XsStoreState;
  dom0: Dom0State;
};

/** The owner table as runs: [owner, count, owner, count, ...]. */
function runs(a: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; ) {
    let j = i + 1;
    while (j < a.length && a[j] === a[i]) j++;
    out.push(a[i]!, j - i);
    i = j;
  }
  return out;
}

function unruns(r: number[], into: Int32Array): void {
  let at = 0;
  for (let k = 0; k + 1 < r.length; k += 2) {
    const n = r[k + 1]!;
    if (at + n > into.length) break;
    into.fill(r[k]!, at, at + n);
    at += n;
  }
  if (at !== into.length || r.length % 2 !== 0) throw new SnapshotError('frames.owner: run lengths do not cover machine memory');
}

/** Xen's page-type tables (Xen.pages) when this build has them: every own field but the Frames reference. */
const PAGES_SKIP = new Set(['frames']);
const xenPages = (m: Machine): object | null => ((m.xen as unknown as { pages?: object }).pages ?? null);

/**
 * Snapshot the machine. Only between scheduler slices (Machine.run's
 * `between`, or outside `run`). `resetDirty`: then start a new dirty epoch
 * of its memory.
 */
export function snapshotMachine(m: Machine, opts: { resetDirty?: boolean } = {}): MachineSnapshot {
  return snapshot(m, false, opts.resetDirty === true) as MachineSnapshot;
}

/**
 * The next snapshot of a recorder's series: the bytes of the frames PhysMem
 * marked dirty since the previous one (or since machineMemory or
 * snapshotMachine with resetDirty), as views of live memory, null for the
 * others; then a new dirty epoch.
 */
export function snapshotChanged(m: Machine): ChangedSnapshot {
  return snapshot(m, true, true);
}

function snapshot(m: Machine, changed: boolean, resetDirty: boolean): ChangedSnapshot {
  const xen = m.xen;
  if (xen.running !== null) throw new SnapshotError('snapshotMachine: a vCPU is running; snapshots are taken between slices');
  checkKnown('Xen', xen);
  checkKnown('Frames', xen.frames);
  const pages = xenPages(m);
  const state: State = {
    format: FORMAT,
    quantum: m.quantum,
    frames: { count: xen.frames.frameCount, cursor: xen.frames.cursor, owner: runs(xen.frames.owner) },
    xen: { clock: xen.clock, seq: xen.nextSeq, bootWallclock: xen.bootWallclock, wallclock: xen.wallclock && { ...xen.wallclock }, pages: pages && fieldsOf(pages, PAGES_SKIP) },
    sched: m.schedState,
    domains: m.domains.map((d) => ({
      fields: fieldsOf(d, DOMAIN_SKIP),
      vcpus: d.vcpus.map((v) => ({ fields: fieldsOf(v, VCPU_SKIP), cpu: cpuState(v.cpu) })),
    })),
    store: m.store.snapshot(),
    dom0: m.dom0.snapshot(),
  };
  const stateJson = new TextEncoder().encode(JSON.stringify(encodeValue(state, 'state')));
  return { seq: xen.nextSeq, time: xen.clock, stateJson, pages: memoryPages(m, changed, resetDirty) };
}

/**
 * The machine's memory alone, every allocated frame's bytes (a recorder's
 * base: memory as built), then with `resetDirty` a new dirty epoch.
 */
export function machineMemory(m: Machine, opts: { resetDirty?: boolean } = {}): SnapshotPage[] {
  return memoryPages(m, false, opts.resetDirty === true) as SnapshotPage[];
}

function memoryPages(m: Machine, changed: boolean, resetDirty: boolean): ChangedSnapshot['pages'] {
  const mem = m.xen.frames.mem;
  const out: ChangedSnapshot['pages'] = [];
  for (let mfn = 0; mfn < mem.frameCount; mfn++) {
    if (!mem.has(mfn)) continue;
    if (changed && !mem.dirty[mfn]) {
      out.push({ mfn, data: null });
      continue;
    }
    const f = mem.view(mfn)!;
    const view = new Uint8Array(f.buffer, f.byteOffset, PAGE);
    out.push({ mfn, data: changed ? view : view.slice() });
  }
  if (resetDirty) mem.resetDirty();
  return out;
}

/**
 * Make `m` the machine of the snapshot. `m` must be freshly built from the
 * same scenario (same images, seed and options) and not yet run; checked as
 * far as the snapshot allows (domains, vCPUs, memory size, quantum), throwing
 * SnapshotError. After a failed restore the machine is unusable.
 */
export function restoreMachine(m: Machine, s: MachineSnapshot): void {
  const xen = m.xen;
  if (xen.running !== null) throw new SnapshotError('restoreMachine: a vCPU is running');
  let raw: Json;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(s.stateJson)) as Json;
  } catch {
    throw new SnapshotError('machine snapshot: the state is not UTF-8 JSON');
  }
  const st = decodeValue(raw, 'state') as State;
  try {
    restoreState(m, st, s);
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError(`machine snapshot: malformed state (${e instanceof Error ? e.message : String(e)})`);
  }
}

function restoreState(m: Machine, st: State, s: MachineSnapshot): void {
  const xen = m.xen;
  const frames = xen.frames;
  if (st.format !== FORMAT) throw new SnapshotError(`machine snapshot format ${st.format}, this build reads ${FORMAT}`);
  if (st.xen.seq !== s.seq || st.xen.clock !== s.time) throw new SnapshotError('machine snapshot: seq/time disagree with its state');
  const doms: Domain[] = m.domains;
  const shape = (ds: Array<{ id: unknown; name: unknown; vcpus: number }>): string => ds.map((d) => `${String(d.id)}:${String(d.name)}/${d.vcpus}`).join(' ');
  const want = shape(st.domains.map((d) => ({ id: d.fields.id, name: d.fields.name, vcpus: d.vcpus.length })));
  const have = shape(doms.map((d) => ({ id: d.id, name: d.name, vcpus: d.vcpus.length })));
  if (want !== have) throw new SnapshotError(`machine snapshot is of domains ${want}, this machine has ${have}`);
  if (st.frames.count !== frames.frameCount) throw new SnapshotError(`machine snapshot has ${st.frames.count} machine frames, this machine ${frames.frameCount}`);
  if (st.quantum !== m.quantum) throw new SnapshotError(`machine snapshot quantum ${st.quantum}, this machine ${m.quantum}`);

  restorePages(m, s.pages);
  unruns(st.frames.owner, frames.owner);
  frames.cursor = st.frames.cursor;

  xen.clock = st.xen.clock;
  xen.nextSeq = st.xen.seq;
  xen.bootWallclock = st.xen.bootWallclock;
  xen.wallclock = st.xen.wallclock ? { ...st.xen.wallclock } : null;
  const pages = xenPages(m);
  if ((pages === null) !== (st.xen.pages === null)) throw new SnapshotError('machine snapshot: page-type tables present in only one of snapshot and build');
  if (pages !== null) restoreFields(pages, st.xen.pages!, PAGES_SKIP, new Set(), 'xen.pages');
  m.schedState = st.sched;

  const vcpus: Vcpu[] = [];
  doms.forEach((d, i) => {
    const dj = st.domains[i]!;
    restoreFields(d, dj.fields, DOMAIN_SKIP, DOMAIN_IDENTITY, `domain ${d.id}`);
    d.vcpus.forEach((v, k) => {
      const vj = dj.vcpus[k]!;
      restoreFields(v, vj.fields, VCPU_SKIP, VCPU_IDENTITY, `domain ${d.id} vcpu ${k}`);
      restoreCpu(v.cpu, vj.cpu, frames.xenSlots, `domain ${d.id} vcpu ${k} cpu`);
      // The core's CR0.TS mirrors the virtual one (also for snapshots older than the FPU state).
      v.cpu.ts = v.cr0Ts;
      vcpus.push(v);
    });
  });

  m.store.restore(st.store);
  try {
    m.dom0.restore(st.dom0);
  } catch (e) {
    if (e instanceof RangeError) throw new SnapshotError(`machine snapshot: ${e.message}`);
    throw e;
  }

  // Caches start empty: no decoded blocks, so no frame is marked as code.
  for (const v of vcpus) {
    v.cpu.flushCode();
    v.cpu.mmu.flush();
  }
  frames.mem.codeMark.fill(0);
}

/**
 * A page's real bytes: `data`, or for a page given against the machine as
 * built, `data` XOR that frame of `m` (which must still be as built), its
 * crc32 checked when the snapshot has one.
 */
function pageBytes(m: Machine, p: SnapshotPage): Uint8Array {
  if (p.data.length !== PAGE) throw new SnapshotError(`machine snapshot: frame ${p.mfn} has ${p.data.length} bytes`);
  let bytes = p.data;
  if (p.base !== undefined) {
    const mem = m.xen.frames.mem;
    if (!Number.isInteger(p.base) || p.base < 0 || p.base >= mem.frameCount || !mem.has(p.base)) {
      throw new SnapshotError(`machine snapshot: frame ${p.mfn} is given against frame ${p.base}, which the machine as built does not have`);
    }
    const b = mem.view(p.base)!;
    bytes = p.data.slice();
    const x = new Int32Array(bytes.buffer);
    const y = new Int32Array(b.buffer, b.byteOffset, PAGE / 4);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! ^ y[i]!;
  }
  if (p.crc !== undefined && crc32(bytes) !== p.crc) {
    throw new SnapshotError(`machine snapshot: frame ${p.mfn} does not match its checksum${p.base !== undefined ? ' (a damaged page, or a machine built from other images than the recorded ones)' : ' (a damaged page)'}`);
  }
  return bytes;
}

/** Memory: the snapshot's frames get its bytes (in place: services hold views of ring pages); any other touched frame is released. */
function restorePages(m: Machine, pages: MachineSnapshot['pages']): void {
  const mem = m.xen.frames.mem;
  // Pages given against the memory as built are resolved before any frame is overwritten.
  const bytes = pages.map((p) => pageBytes(m, p));
  let k = 0;
  for (let mfn = 0; mfn < mem.frameCount; mfn++) {
    const p = pages[k];
    if (p !== undefined && p.mfn === mfn) {
      const f = mem.frame(mfn)!;
      new Uint8Array(f.buffer, f.byteOffset, PAGE).set(bytes[k]!);
      k++;
    } else if (mem.has(mfn)) {
      const f = mem.frame(mfn)!;
      new Uint8Array(f.buffer, f.byteOffset, PAGE).fill(0);
      mem.free(mfn);
    }
  }
  if (k !== pages.length) throw new SnapshotError('machine snapshot: page list not ascending or outside machine memory');
}
