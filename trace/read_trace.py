#!/usr/bin/python3
"""Read a xenrr trace with nothing but trace/xenrr.proto, protobuf and zstd.

This is the openness check: it shares no code with the TypeScript reader.
Usage: read_trace.py TRACE GENERATED_DIR  (GENERATED_DIR holds xenrr_pb2.py,
made by `protoc --python_out`). Prints JSON: event counts overall and by kind,
and per checkpoint its seq, frame count and the sha256 of its state JSON
(reassembled from the page store's pieces, each checked against its crc32).
"""
import hashlib
import json
import struct
import sys
import zlib

import zstandard

sys.path.insert(0, sys.argv[2])
import xenrr_pb2  # noqa: E402

KINDS = {v.number: v.name.lower() for v in xenrr_pb2.EventKind.DESCRIPTOR.values}


def frames(data):
    """Yield (kind, payload) for every intact frame after the file magic."""
    at = 8
    while at + 9 <= len(data):
        kind, length, crc = struct.unpack_from('<BII', data, at)
        payload = data[at + 9: at + 9 + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            return
        yield kind, payload
        at += 9 + length


def unpack(payload):
    """u32 n, then n x (u32 len, zstd frame): the parts decompressed and joined."""
    (n,) = struct.unpack_from('<I', payload, 0)
    at, out = 4, b''
    d = zstandard.ZstdDecompressor()
    for _ in range(n):
        (length,) = struct.unpack_from('<I', payload, at)
        out += d.decompress(payload[at + 4: at + 4 + length], max_output_size=1 << 20)
        at += 4 + length
    return out


def undelta(deltas):
    """Ids from their differences (the first from 0)."""
    out, v = [], 0
    for d in deltas:
        v += d
        out.append(v)
    return out


def checkpoint(cp, store):
    """seq, frame count and the sha256 of the state JSON of a Checkpoint."""
    if cp.state_delta:
        pieces = []
        for i in undelta(cp.state_delta):
            base, crc, piece = store[i]
            assert base == 0 and zlib.crc32(piece) == crc, f'state piece {i} damaged'
            pieces.append(piece)
        state = b''.join(pieces)
        nframes = sum(cp.frame_runs[1::2])
    else:
        state = cp.state_json
        nframes = len(cp.pages)
    return {'seq': cp.seq, 'frames': nframes, 'state_sha256': hashlib.sha256(state).hexdigest()}


def main():
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'XENRRTRC', 'not a xenrr trace'
    header = None
    events, by_kind, hypercalls = 0, {}, {}
    store, checkpoints = {}, []
    for kind, payload in frames(data):
        if kind == 1:
            header = xenrr_pb2.Header.FromString(payload)
        elif kind == 2:
            batch = xenrr_pb2.EventBatch.FromString(unpack(payload))
            assert len(batch.kind) == batch.count
            events += batch.count
            for k in batch.kind:
                by_kind[KINDS[k]] = by_kind.get(KINDS[k], 0) + 1
            for s in batch.hypercall.name_str:
                name = batch.strings[s]
                hypercalls[name] = hypercalls.get(name, 0) + 1
        elif kind == 5:
            block = xenrr_pb2.PageBlock.FromString(unpack(payload))
            sizes = list(block.size) or [4096] * block.count
            at = 0
            for k in range(block.count):
                store[block.first_id + k] = (block.base[k], block.crc[k], block.data[at: at + sizes[k]])
                at += sizes[k]
        elif kind == 3:
            checkpoints.append(checkpoint(xenrr_pb2.Checkpoint.FromString(unpack(payload)), store))
    print(json.dumps({'magic': header.magic, 'events': events, 'by_kind': by_kind, 'hypercalls': hypercalls, 'checkpoints': checkpoints}))


main()
