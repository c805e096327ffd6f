/**
 * Xen.pendingPorts, what an evtchn_deliver event lists: the ports pending
 * and unmasked in shared_info that notify a given vCPU (unbound port
 * numbers notify vCPU 0), ascending, across the whole 2-level bitmap.
 */
import { describe, expect, it } from 'vitest';
import { EvtState } from './domain.js';
import { corpusBuilt, testDomains } from './test-domain.js';

const SI_PENDING = 2048;
const SI_MASK = 2560;

describe.skipIf(!corpusBuilt)('pendingPorts', () => {
  it('lists pending, unmasked ports of one vCPU, ascending, at every word and byte boundary', () => {
    const [t] = testDomains(1);
    const { xen, d } = t!;
    const si = xen.frames.mem.frame(d.sharedInfoMfn)!;
    const set = (base: number, port: number): void => si.setUint8(base + (port >> 3), si.getUint8(base + (port >> 3)) | (1 << (port & 7)));
    // Clear whatever the builder left pending, then pend ports around every boundary.
    for (let b = 0; b < 512; b++) si.setUint8(SI_PENDING + b, 0);
    const pending = [1, 7, 8, 31, 32, 33, 63, 64, 255, 256, 1000, 4094, 4095];
    for (const p of pending) set(SI_PENDING, p);
    for (const p of [8, 64, 4094]) set(SI_MASK, p);
    // Ports bound to vCPU 1.
    for (const p of [31, 256]) d.ports[p] = { state: EvtState.UNBOUND, vcpu: 1, remoteDom: 0, remotePort: 0, virq: -1, service: null, priority: 7, fifoPending: false, lastVcpu: 1, lastPriority: 7 };
    expect(xen.pendingPorts(d, 0)).toEqual([1, 7, 32, 33, 63, 255, 1000, 4095]);
    expect(xen.pendingPorts(d, 1)).toEqual([31, 256]);
  });
});
