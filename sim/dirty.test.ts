/**
 * Dirty-page tracking (PhysMem.dirty), which the recorder's checkpoints
 * trust to copy and hash only the frames that changed: run every corpus
 * scenario with a shadow copy of memory, and at every clean point check
 * that each frame whose bytes changed, or that was allocated, since the
 * last reset is marked dirty; then reset (as a checkpoint does) and go on.
 * A missed mark is a checkpoint that restores stale memory.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMachine } from '../replay/scenario-run.js';
import { PhysMem } from './cpu/phys-mem.js';
import { parseScenario, type Scenario } from './scenario.js';
import { snapshotChanged, snapshotMachine } from './snapshot.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
const SCENARIOS = [...readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)), ...readdirSync(`${DIR}bugs`).map((f) => `bugs/${f.slice(0, -5)}`)].sort();
const load = (name: string): Scenario => parseScenario(JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')), `${DIR}${name}.json`);
const PAGE = 4096;

const bytesOf = (mem: PhysMem, pfn: number): Uint8Array => {
  const v = mem.view(pfn)!;
  return new Uint8Array(v.buffer, v.byteOffset, PAGE);
};

describe('PhysMem dirty marks', () => {
  it('frame() and bulk writes mark, view() and reads do not; reset clears all but pinned frames', () => {
    const mem = new PhysMem(16 * PAGE);
    mem.view(1);
    expect(mem.dirty[1]).toBe(1); // allocated: a new frame in the set
    mem.resetDirty();
    expect(mem.dirty[1]).toBe(0);
    mem.view(1)!.getUint8(0);
    mem.read(PAGE, 100);
    expect(mem.dirty[1]).toBe(0);
    mem.frame(1);
    expect(mem.dirty[1]).toBe(1);
    mem.resetDirty();
    mem.write(2 * PAGE - 2, new Uint8Array([1, 2, 3, 4]));
    expect([mem.dirty[1], mem.dirty[2], mem.dirty[3]]).toEqual([1, 1, 0]);
    mem.pin(5);
    mem.resetDirty();
    expect([mem.dirty[1], mem.dirty[2], mem.dirty[5]]).toEqual([0, 0, 1]);
  });
});

describe.skipIf(!built)('dirty tracking over the corpus', () => {
  for (const name of SCENARIOS) {
    it(`${name}: every frame that changes between clean points is marked dirty`, () => {
      const s = load(name);
      const m = buildMachine(s);
      const mem = m.xen.frames.mem;
      const shadow = new Map<number, Uint8Array>();
      const copyAll = (): void => {
        shadow.clear();
        for (let p = 0; p < mem.frameCount; p++) if (mem.has(p)) shadow.set(p, bytesOf(mem, p).slice());
      };
      copyAll();
      mem.resetDirty();
      let points = 0;
      let changedFrames = 0;
      let missed: string[] = [];
      m.run(s.maxInsns, () => {
        points++;
        for (let p = 0; p < mem.frameCount; p++) {
          const had = shadow.get(p);
          if (!mem.has(p)) continue;
          const same = had !== undefined && Buffer.from(had).equals(bytesOf(mem, p));
          if (same) continue;
          changedFrames++;
          if (!mem.dirty[p]) missed.push(`frame ${p} at clean point ${points} (seq ${m.nextSeq})`);
        }
        if (missed.length > 0) return true;
        copyAll();
        mem.resetDirty();
        return false;
      });
      expect(missed).toEqual([]);
      expect(points).toBeGreaterThan(1);
      expect(changedFrames).toBeGreaterThan(0);
      missed = [];
    });
  }

  it("the frames dom0's backends write through views they keep (console, store, blkback's rings) stay dirty after every reset", () => {
    const s = load('blkfront');
    const m = buildMachine(s);
    const mem = m.xen.frames.mem;
    const ringMfns = (): number[] => m.blkback.snapshot().devices.flatMap((d) => d.rings.flatMap((r) => r.pages.map((p) => p.mfn)));
    // Run to the first connected ring (a 2-page ring: both pages are written through views).
    m.run(s.maxInsns, () => ringMfns().length >= 2);
    const d = m.domains[0]!;
    const held = [d.consoleMfn, d.storeMfn, ...ringMfns()];
    expect(held.length).toBeGreaterThanOrEqual(4);
    mem.resetDirty();
    expect(held.map((p) => mem.dirty[p])).toEqual(held.map(() => 1));
  });

  it('a changed snapshot gives the bytes of exactly the dirty frames, null for the rest', () => {
    const s = load('pingpong');
    const m = buildMachine(s);
    const base = snapshotMachine(m, { resetDirty: true });
    let n = 0;
    m.run(s.maxInsns, () => ++n === 40);
    const dirty = new Set([...m.xen.frames.mem.dirty.keys()].filter((p) => m.xen.frames.mem.dirty[p]));
    const full = snapshotMachine(m);
    const c = snapshotChanged(m);
    expect(c.stateJson).toEqual(full.stateJson);
    expect(c.pages.map((p) => p.mfn)).toEqual(full.pages.map((p) => p.mfn));
    c.pages.forEach((p, i) => {
      expect(p.data === null, `frame ${p.mfn}`).toBe(!dirty.has(p.mfn));
      if (p.data !== null) expect(Buffer.from(p.data).equals(Buffer.from(full.pages[i]!.data))).toBe(true);
    });
    // Clean frames hold what the previous snapshot of the series gave them.
    const before = new Map(base.pages.map((p) => [p.mfn, p.data]));
    for (const p of c.pages) if (p.data === null) expect(Buffer.from(before.get(p.mfn)!).equals(Buffer.from(full.pages.find((q) => q.mfn === p.mfn)!.data))).toBe(true);
    expect(c.pages.filter((p) => p.data === null).length).toBeGreaterThan(c.pages.length / 2);
    // And after it, nothing is dirty but the pinned ring pages and Xen's slot page.
    const after = snapshotChanged(m);
    expect(after.pages.filter((p) => p.data !== null).length).toBeLessThanOrEqual(1 + 2 * m.domains.length);
  });
});
