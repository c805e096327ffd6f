/**
 * Damage and incompleteness told apart: a recording cut short (by a dead
 * recorder) reads as a prefix with no integrity problem, while a frame that
 * fits in the file but fails its checksum, a damaged trailer or footer, or
 * a chunk whose content is not what the index hashed, is damage naming the
 * frame and its offset.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from './reader.js';
import { FRAME_HEADER, TRAILER } from './schema.js';
import { events, testHeader } from './test-events.js';
import { TraceWriter } from './writer.js';
import { initZstd } from './zstd.js';

const DIR = 'build/trace-test';
let good: Buffer;
let offsets: number[];

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const w = new TraceWriter(`${DIR}/int.xrr`, testHeader(), 50);
  for (const e of events(400, 9)) w.append(e);
  w.close('all-stopped', 0);
  good = readFileSync(`${DIR}/int.xrr`);
  const r = TraceReader.open(`${DIR}/int.xrr`);
  offsets = r.index.chunks.map((c) => c.offset);
  r.close();
});

/** Open `bytes` as a trace: completeness, damage seen at open, integrity problems (frames only, and deep). */
function open(bytes: Uint8Array): { complete: boolean; damage: string[]; frames: string[]; deep: string[]; warnings: string[] } {
  writeFileSync(`${DIR}/int-m.xrr`, bytes);
  const r = TraceReader.open(`${DIR}/int-m.xrr`);
  try {
    return { complete: r.complete, damage: [...r.damage], frames: [...r.integrity(false)], deep: [...r.integrity(true)], warnings: [...r.warnings] };
  } finally {
    r.close();
  }
}
const hex = (n: number): string => `0x${n.toString(16)}`;

describe('trace integrity', () => {
  it('an intact trace has no problem', () => {
    expect(open(good)).toMatchObject({ complete: true, damage: [], frames: [], deep: [] });
  });

  it('a trace cut anywhere in a chunk is a prefix, not damage', () => {
    for (const cut of [offsets[3]!, offsets[3]! + 5, offsets[3]! + 40, offsets[0]!]) {
      const t = open(good.subarray(0, cut));
      expect(t, `cut at ${cut}`).toMatchObject({ complete: false, damage: [], deep: [] });
    }
  });

  it('a chunk that fits but fails its checksum is damage, with or without a footer', () => {
    const b = Buffer.from(good);
    b[offsets[2]! + 30]! ^= 1;
    expect(open(b).frames).toEqual([`chunk 2 at ${hex(offsets[2]!)} is damaged (crc mismatch)`]);
    const prefix = b.subarray(0, offsets[5]!);
    expect(open(prefix)).toMatchObject({ complete: false, damage: [`chunk 2 at ${hex(offsets[2]!)} is damaged (crc mismatch)`] });
  });

  it('a chunk whose checksum was made to match its altered bytes fails the deep check', () => {
    const b = Buffer.from(good);
    const at = offsets[1]!;
    const len = b.readUInt32LE(at + 1);
    b[at + FRAME_HEADER + len - 3]! ^= 0x10;
    b.writeUInt32LE(crc32(b.subarray(at + FRAME_HEADER, at + FRAME_HEADER + len)), at + 5);
    const t = open(b);
    expect(t.frames).toEqual([]);
    expect(t.deep).toHaveLength(1);
    expect(t.deep[0]).toMatch(new RegExp(`^chunk 1 at ${hex(at)} is damaged \\((does not decompress|hash mismatch|does not decode)\\)$`));
  });

  it('a damaged trailer or footer is damage; a trailer cut short after an intact footer is not', () => {
    const magic = Buffer.from(good);
    magic[magic.length - 2]! ^= 1;
    expect(open(magic).damage[0]).toMatch(/^trailer at 0x[0-9a-f]+ is damaged \(the footer index at 0x[0-9a-f]+ is intact\)$/);
    const ptr = Buffer.from(good);
    ptr[ptr.length - TRAILER]! ^= 4;
    expect(open(ptr).damage[0]).toMatch(/^footer index at 0x[0-9a-f]+ is damaged \(/);
    const index = Buffer.from(good);
    index[index.length - TRAILER - 3]! ^= 1;
    expect(open(index).damage[0]).toMatch(/^footer index at 0x[0-9a-f]+ is damaged \(crc mismatch\)$/);
    const short = open(good.subarray(0, good.length - 5));
    expect(short).toMatchObject({ complete: true, damage: [], deep: [] });
    expect(short.warnings[0]).toMatch(/^the trailer after the footer index at 0x[0-9a-f]+ was cut short; used the index$/);
  });

  it('bytes inserted into a complete trace are damage', () => {
    const extra = Buffer.concat([good.subarray(0, offsets[1]!), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0]), good.subarray(offsets[1]!)]);
    // The trailer now points 9 bytes before the footer index.
    expect(open(extra).damage[0]).toMatch(/^footer index at 0x[0-9a-f]+ is damaged \(/);
  });
});
