/**
 * A guest as the initial domain (dom0): built as Xen builds it, and the
 * privileged calls Linux 6.1's dom0 makes on its boot path, answered as
 * Xen 4.17 answers them on the simulated machine (an empty PC, one pCPU).
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError, domainIds, parseScenario } from '../scenario.js';
import { XS_DOM0_RING_CONN } from '../services/xenstored.js';
import { OWNER_IO, OWNER_FREE } from './frames.js';
import * as MC from './public/arch-x86/xen-mca.js';
import * as M from './public/memory.js';
import * as P from './public/platform.js';
import * as X from './public/xen.js';
import type { PvHost } from './pv-host.js';
import { corpusBuilt, struct, testDomains } from './test-domain.js';

const { Errno } = X;
const SI = X.start_info;

describe('scenario: dom0', () => {
  const base = { name: 's', domains: [{ name: 'a', kernel: 'hello' }, { name: 'b', kernel: 'hello', dom0: true }] };
  it('the dom0 domain is domid 0 and privileged, the others 1, 2, ... in order', () => {
    const s = parseScenario(base, 'x.json');
    expect(domainIds(s.domains)).toEqual([1, 0]);
    expect(s.domains[1]!.privileged).toBe(true);
    expect(domainIds([{}, {}])).toEqual([1, 2]);
  });
  it('at most one dom0, said in one line', () => {
    const two = { ...base, domains: [...base.domains, { name: 'c', kernel: 'hello', dom0: true }] };
    expect(() => parseScenario(two, 'x.json')).toThrow(new ScenarioError('x.json: domains.2.dom0: only one domain can be dom0 (domains.1 is)'));
  });
  it('with a guest dom0 its kernel serves the devices: disks are its /dev/loopN or /dev/ramN, no xenrr switch or chaos', () => {
    const withDisk = (target: string, d0 = true): unknown => ({ ...base, domains: [{ name: 'a', kernel: 'hello', disks: [{ vdev: 'xvda', target }] }, { name: 'b', kernel: 'hello', dom0: d0 }] });
    expect(parseScenario(withDisk('/dev/loop0'), 'x.json').domains[0]!.disks[0]!.target).toBe('/dev/loop0');
    expect(() => parseScenario(withDisk('/dev/ram1'), 'x.json')).not.toThrow();
    expect(() => parseScenario(withDisk('ext4.img'), 'x.json')).toThrow(new ScenarioError('x.json: domains.0.disks.0.target: with a guest dom0 a disk is one of dom0\'s block devices, /dev/loopN or /dev/ramN (dom0\'s kernel blkback serves it)'));
    expect(() => parseScenario(withDisk('/dev/loop0', false), 'x.json')).toThrow(new ScenarioError('x.json: domains.0.disks.0.target: /dev/loop0 is a dom0 block device: the scenario needs a Linux dom0 ("dom0": true) to serve it'));
    expect(() => parseScenario({ ...base, bridges: [{ name: 'xenbr0' }] }, 'x.json')).toThrow(/^x.json: bridges: xenrr's virtual switch serves xenrr's own netback/);
    expect(() => parseScenario({ ...base, chaos: { seed: 1 } }, 'x.json')).toThrow(/^x.json: chaos: fault injection is in xenrr's own backends/);
  });
});

describe.skipIf(!corpusBuilt)('dom0 built as Xen builds it', () => {
  it('start_info: SIF_PRIVILEGED|SIF_INITDOMAIN with PX|CX pm bits, no console page, a store ring served by xenstored', () => {
    const [t0, t1] = testDomains(2, 'hello', { dom0: true });
    const { d, v, machine } = t0!;
    expect(d.id).toBe(0);
    const si = (off: number, n: 4 | 8): bigint => (n === 4 ? BigInt(v.guest.u32(d.startInfoVa + BigInt(off))!) : v.guest.u64(d.startInfoVa + BigInt(off))!);
    expect(si(SI.flags, 4)).toBe(BigInt(X.SIF_PRIVILEGED | X.SIF_INITDOMAIN | ((P.XEN_PROCESSOR_PM_PX | P.XEN_PROCESSOR_PM_CX) << 8)));
    expect(si(SI.console_domU_mfn, 8)).toBe(0n);
    expect(si(SI.console_domU_evtchn, 4)).toBe(0n);
    expect(si(SI.store_mfn, 8)).toBe(BigInt(d.storeMfn));
    expect(d.port(d.storePort)).toMatchObject({ service: 'xenstore' });
    // A domU next to it keeps the toolstack's console and flags.
    expect(t1!.d.id).toBe(1);
    expect(t1!.d.consoleMfn).not.toBe(0);
    // xenstored's and xenconsoled's ends of the domU's channels are dom0's ports, held in the guest's
    // table as on a real host, so its kernel's own ports never take those numbers.
    const u = t1!.d;
    const held = [u.storePort, u.consolePort].map((p) => u.port(p)!.remotePort);
    expect(held.map((p) => d.port(p))).toMatchObject([{ remoteDom: 1, remotePort: u.storePort, service: 'xenstore' }, { remoteDom: 1, remotePort: u.consolePort, service: 'console' }]);
    expect(held).not.toContain(d.storePort);
    expect(held).not.toContain(d.allocPort());
    expect(machine.store.read('/local/domain/0/name')).toBe('Domain-0');
    // The legacy window is DOMID_IO's, never RAM.
    expect(machine.xen.frames.owner[0xb8]).toBe(OWNER_IO);
    expect(d.p2m.some((m) => m >= 0xa0 && m < 0x100)).toBe(false);
    expect(XS_DOM0_RING_CONN).toBeGreaterThan(0xffff);
  });

  it('only the hardware domain maps the legacy window (iomem), without references', () => {
    const [t0, t1] = testDomains(2, 'hello', { dom0: true });
    const pte = (BigInt(0xb8) << 12n) | 0x63n;
    expect(t0!.xen.pages.getL1e(t0!.d, pte)).toBe(0);
    expect(t0!.xen.pages.maps[0xb8]).toBe(0);
    expect(t1!.xen.pages.getL1e(t1!.d, pte)).toBe(-Errno.EPERM);
  });

  it('port I/O: the dword at 0xcf8 and the byte at 0x70 are Xen\'s latches; CMOS and config data and every other port read all ones', () => {
    const [t0] = testDomains(1, 'hello', { dom0: true });
    const { v, d } = t0!;
    v.iopl = 1;
    const host = v.cpu.host as PvHost;
    host.portOut(v.cpu, 0xcf8, 4, 0x80000000);
    expect(d.pciCf8).toBe(0x80000000);
    expect(host.portIn(v.cpu, 0xcf8, 4)).toBe(0x80000000);
    expect(host.portIn(v.cpu, 0xcfc, 4)).toBe(0xffffffff);
    expect(host.portIn(v.cpu, 0x60, 1)).toBe(0xff);
    // The CMOS index is latched by Xen too; there is no RTC behind 0x71.
    host.portOut(v.cpu, 0x70, 1, 0x8d);
    expect(host.portIn(v.cpu, 0x70, 1)).toBe(0x8d);
    expect(host.portIn(v.cpu, 0x70, 2)).toBe(0xff8d);
    expect(host.portIn(v.cpu, 0x71, 1)).toBe(0xff);
  });
});

describe.skipIf(!corpusBuilt)('platform_op', () => {
  const op = (cmd: number, ver = P.XENPF_INTERFACE_VERSION, fields: Array<[number, 1 | 2 | 4 | 8, number | bigint]> = []) =>
    struct(P.xen_platform_op.size, [[P.xen_platform_op.cmd, 4, cmd], [P.xen_platform_op.interface_version, 4, ver], ...fields.map(([o, n, x]) => [P.xen_platform_op.u + o, n, x] as [number, 1 | 2 | 4 | 8, number | bigint])]);
  const U = BigInt(P.xen_platform_op.u);

  it('version first (-EACCES), then privilege (-EPERM); unknown commands -ENOSYS', () => {
    const [t0, t1] = testDomains(2, 'hello', { dom0: true });
    t1!.put(t1!.scratch, op(P.XENPF_get_cpuinfo));
    expect(t1!.call(X.__HYPERVISOR_platform_op, t1!.scratch)).toBe(-Errno.EPERM);
    t0!.put(t0!.scratch, op(P.XENPF_get_cpuinfo, 0x03000000));
    expect(t0!.call(X.__HYPERVISOR_platform_op, t0!.scratch)).toBe(-Errno.EACCES);
    t0!.put(t0!.scratch, op(P.XENPF_change_freq));
    expect(t0!.call(X.__HYPERVISOR_platform_op, t0!.scratch)).toBe(-Errno.ENOSYS);
  });

  it('XENPF_settime64 sets the wallclock at system time 0 in every shared_info; mbz must be 0', () => {
    const [t0, t1] = testDomains(2, 'hello', { dom0: true });
    const T = P.xenpf_settime64;
    t0!.put(t0!.scratch, op(P.XENPF_settime64, undefined, [[T.secs, 8, 1_800_000_000], [T.nsecs, 4, 250_000_000], [T.system_time, 8, 1_500_000_000]]));
    expect(t0!.call(X.__HYPERVISOR_platform_op, t0!.scratch)).toBe(0);
    const si = t1!.xen.frames.mem.frame(t1!.d.sharedInfoMfn)!;
    expect([si.getUint32(X.shared_info.wc_sec, true), si.getUint32(X.shared_info.wc_nsec, true), si.getUint32(X.shared_info.wc_version, true) % 2]).toEqual([1_799_999_998, 750_000_000, 0]);
    t0!.put(t0!.scratch, op(P.XENPF_settime64, undefined, [[T.mbz, 4, 1]]));
    expect(t0!.call(X.__HYPERVISOR_platform_op, t0!.scratch)).toBe(-Errno.EINVAL);
  });

  it('firmware_info on a BIOS machine: keyboard flags 0, no EDD disk or MBR signature (-ESRCH), no EFI (-ENOSYS)', () => {
    const [t0] = testDomains(1, 'hello', { dom0: true });
    const { call, put, scratch } = t0!;
    const F = P.xenpf_firmware_info;
    const fw = (type: number, index = 0) => (put(scratch, op(P.XENPF_firmware_info, undefined, [[F.type, 4, type], [F.index, 4, index], [F.u, 1, 0x5a]])), call(X.__HYPERVISOR_platform_op, scratch));
    expect(fw(P.XEN_FW_KBD_SHIFT_FLAGS)).toBe(0);
    expect(t0!.v.guest.u8(scratch + U + BigInt(F.u))).toBe(0);
    expect(fw(P.XEN_FW_KBD_SHIFT_FLAGS, 1)).toBe(-Errno.ESRCH);
    expect(fw(P.XEN_FW_DISK_INFO)).toBe(-Errno.ESRCH);
    expect(fw(P.XEN_FW_DISK_MBR_SIGNATURE)).toBe(-Errno.ESRCH);
    expect(fw(P.XEN_FW_VBEDDC_INFO)).toBe(-Errno.ESRCH);
    expect(fw(P.XEN_FW_EFI_INFO, 1)).toBe(-Errno.ENOSYS);
    expect(fw(99)).toBe(-Errno.EINVAL);
  });

  it('get_cpuinfo / get_cpu_version: one present, online pCPU', () => {
    const [t0] = testDomains(1, 'hello', { dom0: true });
    const { call, put, scratch, u32 } = t0!;
    const C = P.xenpf_pcpuinfo;
    put(scratch, op(P.XENPF_get_cpuinfo, undefined, [[C.xen_cpuid, 4, 0]]));
    expect(call(X.__HYPERVISOR_platform_op, scratch)).toBe(0);
    expect([u32(scratch + U + BigInt(C.flags)), u32(scratch + U + BigInt(C.max_present)), u32(scratch + U + BigInt(C.apic_id))]).toEqual([P.XEN_PCPU_FLAGS_ONLINE, 0, 0]);
    put(scratch, op(P.XENPF_get_cpuinfo, undefined, [[C.xen_cpuid, 4, 1]]));
    expect(call(X.__HYPERVISOR_platform_op, scratch)).toBe(0);
    expect(u32(scratch + U + BigInt(C.flags))).toBe(P.XEN_PCPU_FLAGS_INVALID);
    const V = P.xenpf_pcpu_version;
    put(scratch, op(P.XENPF_get_cpu_version, undefined, [[V.xen_cpuid, 4, 0]]));
    expect(call(X.__HYPERVISOR_platform_op, scratch)).toBe(0);
    expect(Buffer.from(t0!.v.guest.read(scratch + U + BigInt(V.vendor_id), 12)!).toString()).toBe('GenuineIntel');
    expect(u32(scratch + U + BigInt(V.family))).toBe(6);
  });
});

describe.skipIf(!corpusBuilt)('mca', () => {
  it('XEN_MC_physcpuinfo: the count with a null handle, then each CPU with MCG_CAP; a domU gets -EPERM', () => {
    const [t0, t1] = testDomains(2, 'hello', { dom0: true });
    const { call, put, scratch, u32, u64 } = t0!;
    const U = BigInt(MC.xen_mc.u);
    const mc = (info: bigint, n: number) => struct(MC.xen_mc.size, [[MC.xen_mc.cmd, 4, MC.XEN_MC_physcpuinfo], [MC.xen_mc.interface_version, 4, MC.XEN_MCA_INTERFACE_VERSION], [MC.xen_mc.u + MC.xen_mc_physcpuinfo.ncpus, 4, n], [MC.xen_mc.u + MC.xen_mc_physcpuinfo.info, 8, info]]);
    put(scratch, mc(0n, 0));
    expect(call(MC.__HYPERVISOR_mca, scratch)).toBe(0);
    expect(u32(scratch + U)).toBe(1);
    const info = scratch + 0x1000n;
    put(scratch, mc(info, 1));
    expect(call(MC.__HYPERVISOR_mca, scratch)).toBe(0);
    const L = MC.mcinfo_logical_cpu;
    expect([u32(info + BigInt(L.mc_family)), u32(info + BigInt(L.mc_nmsrvals)), u64(info + BigInt(L.mc_msrvalues))]).toEqual([6, 1, 0x179n]);
    put(scratch, mc(info, 0));
    expect(call(MC.__HYPERVISOR_mca, scratch)).toBe(-Errno.EINVAL);
    t1!.put(t1!.scratch, mc(0n, 0));
    expect(t1!.call(MC.__HYPERVISOR_mca, t1!.scratch)).toBe(-Errno.EPERM);
  });
});

describe.skipIf(!corpusBuilt)('XENMEM_exchange', () => {
  const R = M.xen_memory_reservation;
  const X2 = M.xen_memory_exchange;
  const exch = (inList: bigint, nIn: number, outList: bigint, outOrder: number, bits: number) => struct(X2.size, [
    [X2.in + R.extent_start, 8, inList], [X2.in + R.nr_extents, 8, nIn], [X2.in + R.domid, 2, X.DOMID_SELF],
    [X2.out + R.extent_start, 8, outList], [X2.out + R.nr_extents, 8, 1], [X2.out + R.extent_order, 4, outOrder], [X2.out + R.mem_flags, 4, bits], [X2.out + R.domid, 2, X.DOMID_SELF],
  ]);

  it('4 unmapped frames for one aligned order-2 extent below the limit; the M2P follows; the input is freed', () => {
    const [t0] = testDomains(1, 'hello', { dom0: true });
    const { d, xen, call, put, scratch, u64 } = t0!;
    // Four frames of the domain nobody maps: beyond the initial mapping.
    const pfns = [d.p2m.length - 4, d.p2m.length - 3, d.p2m.length - 2, d.p2m.length - 1];
    const mfns = pfns.map((p) => d.p2m[p]!);
    const inList = scratch + 0x100n, outList = scratch + 0x200n;
    put(inList, struct(32, mfns.map((m, k) => [k * 8, 8, m] as [number, 8, number])));
    put(outList, struct(8, [[0, 8, pfns[0]!]]));
    put(scratch, exch(inList, 4, outList, 2, 32));
    expect(call(X.__HYPERVISOR_memory_op, M.XENMEM_exchange, scratch)).toBe(0);
    expect(u64(scratch + BigInt(X2.nr_exchanged))).toBe(4n);
    const base = Number(u64(outList));
    expect(base % 4).toBe(0);
    expect(base + 4).toBeLessThanOrEqual(2 ** 20);
    for (let k = 0; k < 4; k++) {
      expect(xen.frames.getM2p(base + k)).toBe(BigInt(pfns[0]! + k));
      expect(d.p2m[pfns[0]! + k]).toBe(base + k);
      if (!(mfns[k]! >= base && mfns[k]! < base + 4)) expect(xen.frames.owner[mfns[k]!]).toBe(OWNER_FREE);
    }
    // A frame that is not the domain's: -EINVAL, nothing exchanged.
    put(inList, struct(8, [[0, 8, 1]]));
    put(scratch, exch(inList, 1, outList, 0, 0));
    expect(call(X.__HYPERVISOR_memory_op, M.XENMEM_exchange, scratch)).toBe(-Errno.EINVAL);
    expect(u64(scratch + BigInt(X2.nr_exchanged))).toBe(0n);
    // Sizes that do not match: -EINVAL.
    put(scratch, exch(inList, 3, outList, 2, 0));
    expect(call(X.__HYPERVISOR_memory_op, M.XENMEM_exchange, scratch)).toBe(-Errno.EINVAL);
  });

  it("XSA-212's arguments: lists that reach Xen's hole from the first extent not yet exchanged are -EFAULT, whatever a double would round them to", () => {
    const [t0] = testDomains(1, 'hello', { dom0: true });
    const { d, call, put, scratch, u64 } = t0!;
    // As the XTF PoC builds them: nr_exchanged puts the input list's next entry on a real one, and the
    // output list (NULL) at Xen's IDT; the counts differ by 1 beyond 2^53.
    const idt = 0xffff82d080400000n;
    const inList = scratch + 0x100n;
    put(inList, struct(8, [[0, 8, d.p2m[d.p2m.length - 1]!]]));
    const n = idt / 8n;
    const args = (outList: bigint) => struct(X2.size, [
      [X2.in + R.extent_start, 8, (inList - idt) & ((1n << 64n) - 1n)], [X2.in + R.nr_extents, 8, n + 1n], [X2.in + R.domid, 2, X.DOMID_SELF],
      [X2.out + R.extent_start, 8, outList], [X2.out + R.nr_extents, 8, n + 1n], [X2.out + R.mem_flags, 4, 32], [X2.out + R.domid, 2, X.DOMID_SELF],
      [X2.nr_exchanged, 8, n],
    ]);
    expect(Number(n)).toBe(Number(n + 1n));
    put(scratch, args(0n));
    expect(call(X.__HYPERVISOR_memory_op, M.XENMEM_exchange, scratch)).toBe(-Errno.EFAULT);
    expect(u64(scratch + BigInt(X2.nr_exchanged))).toBe(n);
    // The same input list with an output list the guest may point at gets past the check (and fails later, on the frame).
    put(scratch, args((scratch + 0x200n - idt) & ((1n << 64n) - 1n)));
    expect(call(X.__HYPERVISOR_memory_op, M.XENMEM_exchange, scratch)).not.toBe(-Errno.EFAULT);
  });
});
