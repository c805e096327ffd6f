/**
 * The writer thread's protocol (writer-thread.ts) beside what
 * replay/checkpoint-store.test.ts checks of it (the same bytes as the
 * recorder's thread writes): pages pack and unpack to the same frames,
 * and a write that fails in the thread is thrown by the recorder's next
 * call, with the system's error code, instead of being lost.
 */
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileTempDir } from '../replay/e2e/temp-dir.js';
import { packPages, ThreadedFile, unpackPages } from './writer-thread.js';

const DIR = fileTempDir('xenrr-writer-thread-');

describe('writer thread', () => {
  it('pages pack with their bytes copied and unchanged frames taking no slot', () => {
    const live = new Uint8Array(4096).fill(7);
    const packed = packPages([{ mfn: 3, data: live }, { mfn: 4, data: null }, { mfn: 9, data: new Uint8Array(4096).fill(9) }]);
    live.fill(1);
    expect(packed.data.byteLength).toBe(2 * 4096);
    const out = unpackPages(packed);
    expect(out.map((p) => [p.mfn, p.data?.[0] ?? null])).toEqual([[3, 7], [4, null], [9, 9]]);
    expect(() => packPages([{ mfn: 5, data: new Uint8Array(100) }])).toThrow(/frame 5 has 100 bytes/);
    expect(() => packPages([{ mfn: 6, data: new Uint8Array(4096), base: 2 }])).toThrow(/frame 6 is given as stored in another trace/);
  });

  it("a write that fails in the thread is thrown by the recorder's next call, with its code", () => {
    const path = `${DIR}/ro.xrr`;
    writeFileSync(path, '');
    const fd = openSync(path, 'r');
    const f = new ThreadedFile(fd, 0, undefined);
    const chunk = { raw: new Uint8Array(64), firstSeq: 0, count: 1, firstTime: 0, hash: new Uint8Array(16) };
    f.chunk(chunk);
    let thrown: unknown = null;
    try {
      f.close({ eventCount: 1, countsByKind: {}, countsByHypercall: {}, stopReason: 'poweroff', endTime: 0, vcpus: [] });
    } catch (e) {
      thrown = e;
    }
    expect((thrown as NodeJS.ErrnoException | null)?.code).toBe('EBADF');
    expect(() => f.chunk(chunk)).toThrow(thrown as Error);
    // The recorder's side closed the file it opened.
    expect(() => closeSync(fd)).toThrow(/EBADF/);
  });
});
