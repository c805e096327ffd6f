/**
 * The 64-bit PV domain builder, laid out as Xen's toolstack builds a PV
 * domain (libxenguest xg_dom_x86.c): from VA virt_base upwards, the kernel
 * segment (bss zeroed), the P2M list, start_info, the xenstore page, the
 * console page, the initial page tables (L4, L3s, L2s, L1s), the boot
 * stack; everything up to a 4 MiB boundary with 512 KiB of slack is mapped
 * 4K by 4K. Page tables hold machine addresses, and MFN != PFN on purpose.
 * shared_info is a Xen frame outside the guest's PFN space; the hypercall
 * page is written where the HYPERCALL_PAGE note says.
 *
 * A ramdisk (module 0) goes where xc_dom_build_image puts it: right after
 * the kernel, mapped, with start_info.mod_start its VIRTUAL address; or, for
 * a kernel whose MOD_START_PFN note says it takes one, after the padding
 * that ends the initial mapping, unmapped, with mod_start its PFN and
 * SIF_MOD_START_PFN set (Linux declares it).
 *
 * The initial domain (dom0) differs where Xen's own builder
 * (pv/dom0_build.c) differs from the toolstack's: start_info.flags has
 * SIF_PRIVILEGED | SIF_INITDOMAIN and xen_processor_pmbits (PX | CX) in
 * SIF_PM_MASK; there is no console page (console.domU.mfn/evtchn, which
 * share their bytes with console.dom0.info_off/info_size, are 0: the
 * machine has no VGA for Xen to describe, and dom0 writes its console with
 * console_io). Its xenstore page and channel are set as a xenstore stub
 * domain gives them to dom0 under dom0less/hyperlaunch: start_info.store_mfn
 * and store_evtchn, served by the simulated xenstored.
 */
import { ElfError, parseElf, type ElfFile } from '../elf.js';
import { Domain } from './domain.js';
import type { Frames } from './frames.js';
import { PGT } from './page-types.js';
import { FLAT_KERNEL_CS, FLAT_KERNEL_SS } from './public/arch-x86/xen-x86_64.js';
import {
  XEN_ELFNOTE_ENTRY, XEN_ELFNOTE_FEATURES, XEN_ELFNOTE_GUEST_OS, XEN_ELFNOTE_HYPERCALL_PAGE, XEN_ELFNOTE_LOADER, XEN_ELFNOTE_MOD_START_PFN,
  XEN_ELFNOTE_PADDR_OFFSET, XEN_ELFNOTE_PAE_MODE, XEN_ELFNOTE_VIRT_BASE,
} from './public/elfnote.js';
import { MAX_GUEST_CMDLINE, shared_info as SI, SIF_INITDOMAIN, SIF_MOD_START_PFN, SIF_PM_MASK, SIF_PRIVILEGED, XEN_PROCESSOR_PM_CX, XEN_PROCESSOR_PM_PX, start_info as SIN, vcpu_info, VMASST_TYPE_pae_extended_cr3, XEN_LEGACY_MAX_VCPUS } from './public/index.js';
import { PvHost } from './pv-host.js';
import { RUNSTATE_runnable } from './public/vcpu.js';
import { initialRunstate } from './runstate.js';
import { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

/**
 * libxl's slack over a domain's memory (LIBXL_MAXMEM_CONSTANT, KiB): xl sets
 * max_pages = target + 1 MiB (libxl__build_pre -> xc_domain_setmaxmem), so a
 * domU may populate that many pages beyond its initial allocation.
 */
export const LIBXL_MAXMEM_CONSTANT_KIB = 1024;

export class BuildError extends Error {
  override name = 'BuildError';
}

/**
 * `seed` permutes which machine frame backs which PFN (0: in order, still
 * MFN != PFN). `ramdisk`: module 0, loaded as is. `dom0`: the initial domain
 * (id 0, privileged), built as Xen builds it (see buildPvDomain).
 */
export type BuildSpec = { id: number; name: string; memoryMiB: number; vcpus: number; cmdline: string; privileged: boolean; seed: number; ramdisk?: Uint8Array; dom0?: boolean };

/** `modStartPfn`: the MOD_START_PFN note is present and nonzero (libelf's unmapped_initrd). */
export type XenNotes = { entry?: bigint; hypercallPage?: bigint; virtBase: bigint; paddrOffset: bigint; guestOs: string; loader: string; features: string; modStartPfn: boolean; paeMode: string };

const PAGE = 4096n;
const M64 = (1n << 64n) - 1n;
const roundUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;

/** Read the Xen ELF notes; throws BuildError for an image that is not a PV kernel. */
export function xenNotes(elf: ElfFile): XenNotes {
  const notes = elf.notes.filter((n) => n.name === 'Xen');
  if (notes.length === 0) throw new BuildError('not a Xen PV kernel: no Xen ELF notes');
  const num = (type: number): bigint | undefined => {
    const n = notes.find((x) => x.type === type);
    if (n === undefined) return undefined;
    const dv = new DataView(n.desc.buffer, n.desc.byteOffset, n.desc.byteLength);
    if (n.desc.length >= 8) return dv.getBigUint64(0, true);
    if (n.desc.length >= 4) return BigInt(dv.getUint32(0, true));
    throw new BuildError(`Xen ELF note ${type} has a ${n.desc.length}-byte value`);
  };
  const str = (type: number): string => {
    const n = notes.find((x) => x.type === type);
    return n === undefined ? '' : Buffer.from(n.desc).toString('latin1').replace(/\0+$/, '');
  };
  const virtBase = num(XEN_ELFNOTE_VIRT_BASE) ?? 0n;
  return {
    entry: num(XEN_ELFNOTE_ENTRY),
    hypercallPage: num(XEN_ELFNOTE_HYPERCALL_PAGE),
    virtBase,
    paddrOffset: num(XEN_ELFNOTE_PADDR_OFFSET) ?? (notes.some((n) => n.type === XEN_ELFNOTE_VIRT_BASE) ? virtBase : 0n),
    guestOs: str(XEN_ELFNOTE_GUEST_OS),
    loader: str(XEN_ELFNOTE_LOADER),
    features: str(XEN_ELFNOTE_FEATURES),
    modStartPfn: (num(XEN_ELFNOTE_MOD_START_PFN) ?? 0n) !== 0n,
    paeMode: str(XEN_ELFNOTE_PAE_MODE),
  };
}

/** Page tables needed to map [start, end): one L4, and an L3/L2/L1 per 512 GiB/1 GiB/2 MiB touched. */
function countTables(start: bigint, end: bigint): number {
  const span = (shift: bigint): number => Number(((end - 1n) >> shift) - (start >> shift) + 1n);
  return 1 + span(39n) + span(30n) + span(21n);
}

/** The 64-bit hypercall page: 128 stubs of 32 bytes; slot 23 (iret) never returns. */
export function hypercallPage(): Uint8Array {
  const page = new Uint8Array(4096);
  for (let i = 0; i < 128; i++) {
    const o = i * 32;
    const stub =
      i === 23
        ? [0x51, 0x41, 0x53, 0x50, 0xb8, i, 0, 0, 0, 0x0f, 0x05]
        : [0x51, 0x41, 0x53, 0xb8, i, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3];
    page.set(stub, o);
  }
  return page;
}

export function buildPvDomain(xen: Xen, image: Uint8Array, spec: BuildSpec): Domain {
  let elf: ElfFile;
  try {
    elf = parseElf(image);
  } catch (e) {
    throw e instanceof ElfError ? new BuildError(e.message) : e;
  }
  const notes = xenNotes(elf);
  const frames: Frames = xen.frames;
  if (spec.dom0 === true && (spec.id !== 0 || !spec.privileged)) throw new BuildError('dom0 must be domain 0 and privileged');
  const d = new Domain(spec.id, spec.name, spec.privileged);
  d.cmdline = spec.cmdline;
  const nrPages = spec.memoryMiB * 256;
  // A hardware domain is sized by Xen's dom0_mem; a domU by the toolstack.
  d.maxPages = spec.privileged ? nrPages : nrPages + LIBXL_MAXMEM_CONSTANT_KIB / 4;
  const virtOffset = notes.virtBase - notes.paddrOffset;
  const loads = elf.loadSegments.filter((s) => s.memsz > 0);
  if (loads.length === 0) throw new BuildError('kernel has no loadable segment');
  const kstart = loads.reduce((m, s) => (s.paddr + virtOffset < m ? s.paddr + virtOffset : m), M64) & ~(PAGE - 1n);
  const kend = roundUp(loads.reduce((m, s) => (s.paddr + virtOffset + BigInt(s.memsz) > m ? s.paddr + virtOffset + BigInt(s.memsz) : m), 0n), PAGE);
  if (kstart < notes.virtBase) throw new BuildError(`kernel starts at 0x${kstart.toString(16)}, below its VIRT_BASE 0x${notes.virtBase.toString(16)}`);
  const pfnOf = (va: bigint): number => Number((va - notes.virtBase) >> 12n);

  // Allocate the domain's RAM: every PFN gets an MFN (set in the M2P), in
  // an order the seed permutes, so guests that assume contiguity break.
  for (let pfn = 0; pfn < nrPages; pfn++) d.p2m.push(frames.alloc(d.id));
  if (spec.seed !== 0) {
    let x = (spec.seed ^ Math.imul(spec.id, 0x9e3779b9)) >>> 0 || 1;
    for (let k = nrPages - 1; k > 0; k--) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      const j = x % (k + 1);
      [d.p2m[k], d.p2m[j]] = [d.p2m[j]!, d.p2m[k]!];
    }
  }
  d.p2m.forEach((mfn, pfn) => frames.setM2p(mfn, BigInt(pfn)));

  // Virtual layout, allocated back to back after the kernel.
  let va = kend;
  const take = (bytes: bigint): bigint => {
    const at = va;
    va += roundUp(bytes, PAGE);
    return at;
  };
  const ramdisk = spec.ramdisk;
  const modVa = ramdisk !== undefined && !notes.modStartPfn ? take(BigInt(ramdisk.length)) : 0n;
  const p2mVa = take(BigInt(nrPages) * 8n);
  const startInfoVa = take(PAGE);
  const storeVa = take(PAGE);
  const consoleVa = spec.dom0 === true ? 0n : take(PAGE);
  const tablesVa = va;
  let nTables = 0;
  let mapEnd = 0n;
  for (let guard = 0; guard < 8; guard++) {
    mapEnd = roundUp(tablesVa + BigInt(nTables + 129) * PAGE, 4n << 20n);
    const n = countTables(notes.virtBase, mapEnd);
    if (n === nTables) break;
    nTables = n;
  }
  take(BigInt(nTables) * PAGE);
  const stackVa = take(PAGE);
  // An unmapped ramdisk follows the padding that completes the initial mapping.
  const modPfn = ramdisk !== undefined && notes.modStartPfn ? pfnOf(mapEnd) : -1;
  const usedPfns = modPfn >= 0 ? modPfn + Math.ceil(ramdisk!.length / 4096) : pfnOf(mapEnd);
  if (usedPfns > nrPages) throw new BuildError(`${spec.memoryMiB} MiB is too small for this kernel${ramdisk !== undefined ? ' and ramdisk' : ''} (needs ${Math.ceil(usedPfns / 256)} MiB)`);

  const mem = frames.mem;
  const writeVa = (at: bigint, data: Uint8Array): void => {
    for (let off = 0; off < data.length; ) {
      const a = at + BigInt(off);
      const n = Math.min(4096 - Number(a & 0xfffn), data.length - off);
      mem.write(d.p2m[pfnOf(a)]! * 4096 + Number(a & 0xfffn), data.subarray(off, off + n));
      off += n;
    }
  };
  for (const s of loads) writeVa(s.paddr + virtOffset, s.data.subarray(0, s.filesz));
  if (ramdisk !== undefined && modPfn < 0) writeVa(modVa, ramdisk);
  for (let off = 0; modPfn >= 0 && off < ramdisk!.length; off += 4096) mem.write(d.p2m[modPfn + off / 4096]! * 4096, ramdisk!.subarray(off, off + 4096));

  // P2M list.
  const p2m = new Uint8Array(nrPages * 8);
  const p2mView = new DataView(p2m.buffer);
  d.p2m.forEach((mfn, pfn) => p2mView.setBigUint64(pfn * 8, BigInt(mfn), true));
  writeVa(p2mVa, p2m);

  // Page tables: handed out from the reserved range in order of first use (L4, L3, L2, L1...).
  const tableMfns: number[] = [];
  const nextTable = (): number => {
    const mfn = d.p2m[pfnOf(tablesVa) + tableMfns.length]!;
    tableMfns.push(mfn);
    return mfn;
  };
  const l4 = nextTable();
  const tableFirstPfn = pfnOf(tablesVa);
  const isTablePfn = (pfn: number): boolean => pfn >= tableFirstPfn && pfn < tableFirstPfn + nTables;
  for (let a = notes.virtBase; a < mapEnd; a += PAGE) {
    let table = l4;
    for (let level = 3; level >= 1; level--) {
      const idx = Number((a >> BigInt(12 + 9 * level)) & 511n);
      const f = mem.frame(table)!;
      let e = f.getBigUint64(idx * 8, true);
      if ((e & 1n) === 0n) {
        e = (BigInt(nextTable()) << 12n) | 0x67n;
        f.setBigUint64(idx * 8, e, true);
      }
      table = Number((e >> 12n) & 0xffffffffffn);
    }
    const pfn = pfnOf(a);
    const flags = isTablePfn(pfn) ? 0x21n : 0x23n;
    mem.frame(table)!.setBigUint64(Number((a >> 12n) & 511n) * 8, (BigInt(d.p2m[pfn]!) << 12n) | flags, true);
  }
  // The toolstack pins the L4 (MMUEXT_PIN_L4_TABLE) and vCPU 0's cr3 holds
  // a second L4 reference; validating it types every table as its level
  // and every frame mapped writable as a writable page.
  for (let k = 0; k < 2; k++) if (xen.pages.getType(d, l4, PGT.L4) !== 0) throw new BuildError('the initial page tables do not validate');
  d.pinned.set(l4, PGT.L4);
  // A hardware domain is built by Xen itself (pv/dom0_build.c), which turns
  // on pae_extended_cr3 for a PAE_MODE "yes" kernel; the toolstack leaves a
  // 64-bit domU's vm_assist empty (xg_dom_x86.c vcpu_x86_64).
  if (spec.privileged && notes.paeMode === 'yes') d.vmAssist |= 1 << VMASST_TYPE_pae_extended_cr3;

  // shared_info: a Xen frame; every vcpu_info starts with events masked.
  d.sharedInfoMfn = frames.allocXen();
  // The grant table starts with INITIAL_NR_GRANT_FRAMES (1) v1 frame.
  d.grantFrames.push(frames.allocXen());
  const si = mem.frame(d.sharedInfoMfn)!;
  for (let i = 0; i < XEN_LEGACY_MAX_VCPUS; i++) si.setUint8(SI.vcpu_info + SI.vcpu_info_stride * i + vcpu_info.evtchn_upcall_mask, 1);
  si.setUint32(SI.wc_version, 2, true); // even: stable
  si.setUint32(SI.wc_sec, xen.bootWallclock >>> 0, true);
  si.setBigUint64(SI.arch_max_pfn, BigInt(nrPages), true);

  // Console and xenstore channels: left unbound for dom0 (libxl's
  // xc_evtchn_alloc_unbound(domid, 0)); xenstored and the console backend
  // bind them when the machine introduces the domain to them.
  d.storeMfn = d.p2m[pfnOf(storeVa)]!;
  d.storePort = d.allocPort();
  if (spec.dom0 !== true) {
    d.consoleMfn = d.p2m[pfnOf(consoleVa)]!;
    d.consolePort = d.allocPort();
  }

  // start_info.
  const sinfo = new Uint8Array(4096);
  const sv = new DataView(sinfo.buffer);
  sinfo.set(new TextEncoder().encode('xen-3.0-x86_64'), SIN.magic);
  sv.setBigUint64(SIN.nr_pages, BigInt(nrPages), true);
  sv.setBigUint64(SIN.shared_info, BigInt(d.sharedInfoMfn) << 12n, true);
  const pm = spec.dom0 === true ? ((XEN_PROCESSOR_PM_PX | XEN_PROCESSOR_PM_CX) << 8) & SIF_PM_MASK : 0;
  sv.setUint32(SIN.flags, (spec.privileged ? SIF_PRIVILEGED | SIF_INITDOMAIN : 0) | (modPfn >= 0 ? SIF_MOD_START_PFN : 0) | pm, true);
  sv.setBigUint64(SIN.store_mfn, BigInt(d.storeMfn), true);
  sv.setUint32(SIN.store_evtchn, d.storePort, true);
  sv.setBigUint64(SIN.console_domU_mfn, BigInt(d.consoleMfn), true);
  sv.setUint32(SIN.console_domU_evtchn, d.consolePort, true);
  sv.setBigUint64(SIN.pt_base, tablesVa & M64, true);
  sv.setBigUint64(SIN.nr_pt_frames, BigInt(nTables), true);
  sv.setBigUint64(SIN.mfn_list, p2mVa & M64, true);
  if (ramdisk !== undefined) {
    // As xc_dom_build_image: an unmapped module's length is whole pages.
    sv.setBigUint64(SIN.mod_start, modPfn >= 0 ? BigInt(modPfn) : modVa & M64, true);
    sv.setBigUint64(SIN.mod_len, BigInt(modPfn >= 0 ? Math.ceil(ramdisk.length / 4096) * 4096 : ramdisk.length), true);
  }
  sinfo.set(new TextEncoder().encode(spec.cmdline).subarray(0, MAX_GUEST_CMDLINE - 1), SIN.cmd_line);
  writeVa(startInfoVa, sinfo);
  d.startInfoVa = startInfoVa;

  if (notes.hypercallPage !== undefined) {
    const hp = notes.hypercallPage;
    if (hp < notes.virtBase || hp >= mapEnd || (hp & 0xfffn) !== 0n) throw new BuildError(`HYPERCALL_PAGE note 0x${hp.toString(16)} is not a mapped, page-aligned address`);
    writeVa(hp, hypercallPage());
    d.hypercallPageVa = hp;
  }

  // vCPUs: vCPU 0 starts at the entry point; the others stay down and
  // uninitialised until VCPUOP_initialise and VCPUOP_up.
  for (let id = 0; id < spec.vcpus; id++) {
    const host = new PvHost(xen, d);
    const v = new Vcpu(id, d.id, mem, host);
    host.vcpu = v;
    v.vcpuInfoMa = d.sharedInfoMfn * 4096 + SI.vcpu_info + SI.vcpu_info_stride * id;
    v.cpu.mmu.xenSlots = frames.xenSlots;
    const c = v.cpu;
    c.sreg[1] = FLAT_KERNEL_CS;
    c.sreg[2] = FLAT_KERNEL_SS;
    c.rflags = 0x202;
    if (id === 0) {
      v.initialised = true;
      v.runstate = initialRunstate(RUNSTATE_runnable);
      // Scheduled at time 0: the 10 ms periodic timer is armed (vcpu_periodic_timer_work).
      v.periodicDeadline = v.periodicLast + v.periodicPeriod;
      v.kernelCr3 = l4;
      v.loadCr3(l4);
      c.rip = notes.entry ?? elf.header.entry;
      c.setReg(4, (stackVa + PAGE) & M64);
      c.setReg(6, startInfoVa & M64);
      v.kernelSp = (stackVa + PAGE) & M64;
    } else {
      v.up = false;
      v.state = 'down';
    }
    d.vcpus.push(v);
  }
  return d;
}
