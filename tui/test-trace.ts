/**
 * Test and bench helper: a synthetic trace with readable, deterministic
 * events (two domains taking turns: hypercalls, event channel sends and
 * deliveries, console lines, xenstore, ring, timer, the odd exception),
 * written with TraceWriter so that frames in tests are exact and stable.
 */
import type { SimEvent, SimEventBody } from '../sim/events.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';

/** Event `i` of the synthetic stream. */
export function syntheticEvent(i: number): SimEvent {
  const dom = 1 + (i % 2);
  const k = Math.floor(i / 2) % 8;
  let body: SimEventBody;
  switch (k) {
    case 0:
      body = { kind: 'hypercall', op: 29, name: 'sched_op', sub: 0, subName: 'SCHEDOP_yield', args: [0n, 0n, 0n, 0n, 0n], decoded: {}, result: 0, caller: 0n };
      break;
    case 1:
      body = { kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 4, subName: 'EVTCHNOP_send', args: [4n, 0x2000n, 0n, 0n, 0n], decoded: { port: dom + 2 }, result: 0, caller: 0n };
      break;
    case 2:
      body = { kind: 'evtchn_send', port: dom + 2, toDom: 3 - dom, toPort: 5 - dom, virq: -1 };
      break;
    case 3:
      body = { kind: 'evtchn_deliver', ports: [dom + 2] };
      break;
    case 4:
      body = { kind: 'console', text: `line ${i} of d${dom}\n`, source: 'ring' };
      break;
    case 5:
      body = { kind: 'xenstore', op: 'READ', txId: 0, path: `/local/domain/${dom}/name`, value: `guest${dom}`, result: 'OK' };
      break;
    case 6:
      body = i % 32 === 12 ? { kind: 'exception', vector: 14, errorCode: 2, cr2: 0xdead000n, bounced: true, handler: 0x401000n } : { kind: 'timer', deadline: i * 1000 + 5000 };
      break;
    default:
      body = { kind: 'ring', ring: 'blkif', frontDom: dom, backDom: 0, gref: 8, port: 7, reqProdBefore: i, reqProdAfter: i + 1, rspProdBefore: i, rspProdAfter: i, reqCons: i, rspCons: i, slots: [{ id: i, op: 0 }] };
  }
  return { seq: i, time: i * 1000 + 500, dom, vcpu: 0, icount: i * 100, rip: 0x400000n + BigInt(i * 16), ...body } as SimEvent;
}

/** Write `n` synthetic events to `path` (chunks of `chunkEvents`); zstd must be initialised. */
export function writeSynthetic(path: string, n: number, chunkEvents?: number, mutate?: (e: SimEvent) => SimEvent | null): void {
  const w = new TraceWriter(path, testHeader(), chunkEvents);
  let seq = 0;
  for (let i = 0; i < n; i++) {
    const e = mutate ? mutate(syntheticEvent(i)) : syntheticEvent(i);
    if (e !== null) w.append({ ...e, seq: seq++ });
  }
  w.close('all-stopped', n * 1000 + 500);
}
