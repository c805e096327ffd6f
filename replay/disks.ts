/**
 * Disk images, the outside input of virtual disks: opened for a run from
 * the scenario (with write-through to the file for mode "w!"), named in a
 * trace header like every image (role "disk", the scenario's `target`, its
 * sha256: record.ts traceImages), and found again for a replay
 * (images.ts), which refuses an image whose bytes differ and never writes
 * through (the overlay gives the guest exactly what the recorded run saw).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { diskPath, dom0BlockDevice, domainDisks, type Scenario } from '../sim/scenario.js';
import type { DiskSpec } from '../sim/services/toolstack/index.js';
import type { HeaderData } from '../trace/schema.js';
import { UsageError } from './cli/errors.js';
import { findImage, imageIndices } from './images.js';

/** One file descriptor per written-through image for the life of the process, closed at exit. */
const open = new Map<string, number>();
process.on('exit', () => {
  for (const fd of open.values()) closeSync(fd);
});

function readDisk(s: Scenario, disk: { target: string }, where: string): { path: string; bytes: Buffer } {
  const path = diskPath(s, disk.target);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`${s.file}: ${where}.target: ${path}: no such file${disk.target.includes('/') ? '' : ' (run `npm run build` for corpus disk images)'}`);
  return { path, bytes: readFileSync(path) };
}

/** Domain `k`'s disks, opened for a run (a dom0 block device has no image: medium null) of the scenario (write-through for mode "w!"): its own, then its block-attach actions' (domainDisks). */
export function scenarioDisks(s: Scenario, k: number): DiskSpec[] {
  return domainDisks(s, k).map(({ disk: d, where }) => {
    if (dom0BlockDevice(d.target) !== null) return { vdev: d.vdev, target: d.target, mode: d.mode, medium: null };
    const { path, bytes } = readDisk(s, d, where);
    if (d.mode !== 'w!') return { vdev: d.vdev, target: d.target, mode: d.mode, medium: { bytes } };
    let fd = open.get(path);
    if (fd === undefined) open.set(path, (fd = openSync(path, 'r+')));
    const f = fd;
    return { vdev: d.vdev, target: d.target, mode: d.mode, medium: { bytes, write: (at, data) => void writeSync(f, data, 0, data.length, at), flush: () => fsyncSync(f) } };
  });
}

/** Domain `k`'s disks for replaying a trace: the recorded images, found by name and sha256; never written through. */
export function replayDisks(h: HeaderData, s: Scenario, k: number, trace: string): DiskSpec[] {
  const dom = s.domains[k]!;
  const recorded = imageIndices(h, 'disk', dom.name);
  let j = 0;
  return domainDisks(s, k).map(({ disk: d }) => {
    if (dom0BlockDevice(d.target) !== null) return { vdev: d.vdev, target: d.target, mode: d.mode, medium: null };
    const at = recorded[j++];
    if (at === undefined) throw new UsageError(`${trace}: the trace names no image for disk ${d.vdev} of domain '${dom.name}'`);
    const found = findImage(h, at, { trace });
    if (typeof found === 'string') throw new UsageError(found);
    return { vdev: d.vdev, target: d.target, mode: d.mode, medium: { bytes: found.bytes } };
  });
}
