/**
 * Test helper: synthetic events of every kind (fast-check arbitraries), and
 * a standard header.
 */
import fc from 'fast-check';
import type { SimEvent, SimEventBody } from '../sim/events.js';
import { FORMAT_VERSION, type HeaderData } from './schema.js';

export const testHeader = (): HeaderData => ({
  magic: 'xenrr-trace', formatVersion: FORMAT_VERSION, xenrrVersion: 'test', scenarioJson: '{"name":"synthetic"}', scenarioFile: 'synthetic.json',
  images: [{ role: 'kernel', domain: 'a', path: '', name: 'nonexistent-a', sha256: new Uint8Array(32), size: 0 }], seed: 1,
  cpuid: [{ leaf: 0, eax: 13, ebx: 1, ecx: 2, edx: 3 }], nsPerInsn: 1, tscKhz: 1_000_000, checkpointEvery: 0, wallclock: 1767225600,
  scenarioName: 'synthetic', scenarioSha256: new Uint8Array(32),
});

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
/** RIPs are canonical addresses (the CPU faults before it could run anywhere else). */
const canonicalRip = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }), fc.bigInt({ min: 0xffff800000000000n, max: (1n << 64n) - 1n }));
const small = fc.nat({ max: 5000 });
const name = fc.constantFrom('a', 'port', 'b.c', 'x_y');
const decoded = fc.dictionary(name, fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), u64, fc.string({ maxLength: 8 }), fc.boolean()), { maxKeys: 4 });

export const body: fc.Arbitrary<SimEventBody> = fc.oneof(
  fc.record({ kind: fc.constant('hypercall' as const), op: fc.nat({ max: 40 }), name: fc.constantFrom('sched_op', 'event_channel_op'), sub: fc.integer({ min: -1, max: 12 }), subName: fc.constantFrom('', 'EVTCHNOP_send'), args: fc.array(u64, { minLength: 5, maxLength: 5 }), decoded, result: fc.integer({ min: -95, max: 100 }), caller: canonicalRip }),
  fc.record({ kind: fc.constant('evtchn_send' as const), port: small, toDom: fc.integer({ min: -1, max: 5 }), toPort: fc.integer({ min: -1, max: 4095 }), virq: fc.integer({ min: -1, max: 23 }), masked: fc.constant(true as const) }, { requiredKeys: ['kind', 'port', 'toDom', 'toPort', 'virq'] }),
  fc.record({ kind: fc.constant('evtchn_deliver' as const), ports: fc.array(small, { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('exception' as const), vector: fc.nat({ max: 31 }), errorCode: fc.nat({ max: 0xffff }), cr2: u64, bounced: fc.boolean(), handler: u64 }),
  fc.record({ kind: fc.constant('timer' as const), deadline: fc.nat({ max: 2 ** 40 }) }),
  fc.record({ kind: fc.constant('sched' as const), what: fc.constantFrom('block' as const, 'wake' as const, 'yield' as const), until: fc.integer({ min: -1, max: 2 ** 40 }), rings: fc.array(fc.record({ ring: fc.constant('blkif'), gref: small, req_prod: fc.nat(), req_event: fc.nat() }), { minLength: 1, maxLength: 2 }) }, { requiredKeys: ['kind', 'what', 'until'] }),
  fc.record({ kind: fc.constant('console' as const), text: fc.string({ maxLength: 30 }).map((s) => Buffer.from(s).toString('latin1')), source: fc.constantFrom('ring' as const, 'console_io' as const) }),
  fc.record({ kind: fc.constant('xenstore' as const), op: fc.constantFrom('READ', 'WRITE'), txId: fc.nat({ max: 9 }), path: fc.constantFrom('/local/domain/1/name', 'data/x'), value: fc.string({ maxLength: 12 }).map((s) => Buffer.from(s).toString('latin1')), result: fc.constantFrom('OK', 'ENOENT') }),
  fc.record({ kind: fc.constant('ring' as const), ring: fc.constantFrom('blkif' as const, 'netif-tx' as const), frontDom: small, backDom: small, gref: small, port: small, reqProdBefore: fc.nat(), reqProdAfter: fc.nat(), rspProdBefore: fc.nat(), rspProdAfter: fc.nat(), reqCons: fc.nat(), rspCons: fc.nat(), slots: fc.array(fc.dictionary(fc.constantFrom('id', 'op', 'sector'), fc.oneof(fc.nat(), u64), { minKeys: 1, maxKeys: 3 }), { maxLength: 3 }), seen: fc.constantFrom('notify' as const, 'block' as const, 'deschedule' as const), entries: fc.constantFrom(64, 128, 1024) }, { requiredKeys: ['kind', 'ring', 'frontDom', 'backDom', 'gref', 'port', 'reqProdBefore', 'reqProdAfter', 'rspProdBefore', 'rspProdAfter', 'reqCons', 'rspCons', 'slots'] }),
  fc.record({ kind: fc.constant('domain_state' as const), state: fc.constantFrom('shutdown' as const, 'crashed' as const, 'destroyed' as const), reason: fc.constantFrom('poweroff', 'crash', '') }),
  fc.record({ kind: fc.constant('grants' as const), granted: fc.array(fc.record({ ref: small, domid: small, frame: fc.nat(), flags: fc.nat({ max: 0xffff }) }), { maxLength: 3 }), mapped: fc.array(fc.record({ handle: small, dom: small, ref: small, flags: fc.nat({ max: 31 }) }), { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('input' as const), source: fc.constant('console'), text: fc.string({ maxLength: 10 }) }),
  fc.record({ kind: fc.constant('milestone' as const), text: fc.string({ maxLength: 20 }) }),
  fc.record({ kind: fc.constant('net' as const), bridge: fc.constantFrom('xenbr0', 'br1'), src: fc.constantFrom('vif1.0', 'peer'), dst: fc.constantFrom('', 'peer', 'vif1.0,vif2.0'), frame: fc.uint8Array({ maxLength: 80 }) }),
);

/** A stream with increasing seq/time and per-vCPU increasing instruction counts. */
export function events(n: number, seed: number): SimEvent[] {
  const stack = fc.option(fc.array(canonicalRip, { minLength: 1, maxLength: 6 }), { nil: undefined });
  const bodies = fc.sample(fc.tuple(body, fc.nat({ max: 3 }), fc.nat({ max: 1 }), fc.nat({ max: 1000 }), canonicalRip, stack, fc.nat({ max: 3 })), { seed, numRuns: n });
  const icount = new Map<string, number>();
  let time = 0;
  let prevStack: bigint[] | undefined;
  return bodies.map(([b, dom, vcpu, dt, rip, st, share], seq) => {
    time += dt;
    const k = `${dom}.${vcpu}`;
    const ic = (icount.get(k) ?? 0) + dt;
    icount.set(k, ic);
    // As in the machine: consecutive events of one hypercall share one stack array.
    const s = dom === 3 ? undefined : share === 0 && prevStack !== undefined ? prevStack : share === 1 && prevStack !== undefined ? [...prevStack] : st;
    prevStack = s;
    return { seq, time, dom: dom === 3 ? -1 : dom, vcpu: dom === 3 ? -1 : vcpu, icount: dom === 3 ? 0 : ic, rip: dom === 3 ? 0n : rip, ...(s === undefined ? {} : { stack: s }), ...b } as SimEvent;
  });
}
