/**
 * Openness: a trace read by another language with nothing but the .proto
 * (Debian's python3-protobuf, python3-zstandard and protoc) gives the same
 * event counts as `xenrr info --json`, and the same checkpoints (their
 * state reassembled from the page store) as the TypeScript reader.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TraceReader } from './reader.js';
import { initZstd } from './zstd.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PY = '/usr/bin/python3';
const ready =
  existsSync(PY) && spawnSync(PY, ['-c', 'import google.protobuf, zstandard'], { stdio: 'ignore' }).status === 0 && spawnSync('protoc', ['--version'], { stdio: 'ignore' }).status === 0 && existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);

describe.skipIf(!ready)('trace openness', () => {
  it('python3 reads pingpong.xrr with only xenrr.proto and agrees with xenrr info', async () => {
    const dir = `${ROOT}build/openness`;
    mkdirSync(dir, { recursive: true });
    execFileSync('protoc', [`--proto_path=${ROOT}trace`, `--python_out=${dir}`, 'xenrr.proto']);
    execFileSync(`${ROOT}bin/xenrr`, ['record', 'corpus/scenarios/pingpong.json', '-o', `${dir}/pingpong.xrr`, '--checkpoint-every', '4000'], { cwd: ROOT });
    type PyCheckpoint = { seq: number; frames: number; state_sha256: string };
    const py = JSON.parse(execFileSync(PY, [`${ROOT}trace/read_trace.py`, `${dir}/pingpong.xrr`, dir], { encoding: 'utf8' })) as { magic: string; events: number; by_kind: Record<string, number>; hypercalls: Record<string, number>; checkpoints: PyCheckpoint[] };
    const info = JSON.parse(execFileSync(`${ROOT}bin/xenrr`, ['info', '--json', `${dir}/pingpong.xrr`], { encoding: 'utf8', cwd: ROOT })) as { events: number; countsByKind: Record<string, number>; countsByHypercall: Record<string, number>; checkpoints: number };
    expect(py.magic).toBe('xenrr-trace');
    expect(py.events).toBe(info.events);
    expect(py.events).toBeGreaterThan(10_000);
    expect(py.by_kind).toEqual(info.countsByKind);
    expect(py.hypercalls).toEqual(info.countsByHypercall);
    expect(info.checkpoints).toBeGreaterThan(0);
    await initZstd();
    const r = TraceReader.open(`${dir}/pingpong.xrr`);
    expect(r.index.pageBlocks.length).toBeGreaterThan(0);
    const ts = r.index.checkpoints.map((c, i): PyCheckpoint => ({ seq: c.seq, frames: r.checkpoint(i).pages.length, state_sha256: createHash('sha256').update(r.checkpointHead(i).stateJson).digest('hex') }));
    r.close();
    expect(py.checkpoints).toEqual(ts);
  });
});
