/**
 * xen_version: what Xen 4.17 answers (xen/common/kernel.c do_xen_version,
 * with the default XSM policy of xen/include/xsm/dummy.h xsm_xen_version).
 *
 * version, platform_parameters and get_features answer everyone;
 * extraversion, compile_info, capabilities, changeset, pagesize and
 * guest_handle too (XSM_HOOK); commandline and build_id are XSM_PRIV: an
 * unprivileged caller reads "<denied>" as the command line and gets -EPERM
 * for the build id.
 */
import type { Domain } from '../domain.js';
import { HYPERVISOR_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import * as F from '../public/features.js';
import * as V from '../public/version.js';
import { VMASST_TYPE_pae_extended_cr3 } from '../public/xen.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
export const XEN_EXTRAVERSION = '-xenrr';
/** xen_deny(): what a denied string sub-op copies out. */
const DENIED = '<denied>';

const XENVER_SUB = subOpNames('XENVER', namesFrom(V, 'XENVER'));

/**
 * XENVER_get_features submap 0 for a PV domain (kernel.c): vnode-aware
 * memory_op always; pae_pgdir_above_4gb only once VMASST_TYPE_pae_extended_cr3
 * is on (a 64-bit domU starts with no vm_assist, the hardware domain with it
 * when its PAE_MODE note says "yes"); dom0 for the hardware domain; every PV
 * domain gets mmu_pt_update_preserve_ad, highmem_assist and
 * gnttab_map_avail_bits (Linux panics without 5 and 7), and direct_mapped
 * (PV is not paging_mode_translate).
 */
export function featureSubmap0(d: Domain): number {
  let bits = 1 << F.XENFEAT_memory_op_vnode_supported;
  if ((d.vmAssist & (1 << VMASST_TYPE_pae_extended_cr3)) !== 0) bits |= 1 << F.XENFEAT_pae_pgdir_above_4gb;
  if (d.privileged) bits |= 1 << F.XENFEAT_dom0;
  bits |= (1 << F.XENFEAT_mmu_pt_update_preserve_ad) | (1 << F.XENFEAT_highmem_assist) | (1 << F.XENFEAT_gnttab_map_avail_bits);
  bits |= 1 << F.XENFEAT_direct_mapped;
  return bits >>> 0;
}

export function xenVersion(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const g = h.v.guest;
  const priv = h.d.privileged;
  h.sub = cmd;
  h.subName = XENVER_SUB(cmd);
  const str = (s: string, size: number): number => (g.putString(arg, s, size) ? 0 : -E.EFAULT);
  switch (cmd) {
    case V.XENVER_version:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case V.XENVER_extraversion:
      return str(XEN_EXTRAVERSION, V.XEN_EXTRAVERSION_LEN);
    case V.XENVER_compile_info: {
      const I = V.xen_compile_info;
      const b = new Uint8Array(I.size);
      const put = (s: string, at: number, n: number): void => b.set(new TextEncoder().encode(s).subarray(0, n - 1), at);
      put('xenrr simulated Xen', I.compiler, I.compiler_sizeof);
      put('xenrr', I.compile_by, I.compile_by_sizeof);
      put('localdomain', I.compile_domain, I.compile_domain_sizeof);
      put('deterministic', I.compile_date, I.compile_date_sizeof);
      return g.write(arg, b) ? 0 : -E.EFAULT;
    }
    case V.XENVER_capabilities:
      // arch_get_xen_caps: "xen-3.0-x86_64 " for 64-bit PV (no PV32, no HVM here).
      return str('xen-3.0-x86_64 ', V.XEN_CAPABILITIES_INFO_LEN);
    case V.XENVER_changeset:
      return str('xenrr', V.XEN_CHANGESET_INFO_LEN);
    case V.XENVER_platform_parameters:
      return g.putU64(fld(arg, V.xen_platform_parameters.virt_start), HYPERVISOR_VIRT_START) ? 0 : -E.EFAULT;
    case V.XENVER_get_features: {
      const idx = g.u32(fld(arg, V.xen_feature_info.submap_idx));
      if (idx === null) return -E.EFAULT;
      h.decoded.submap_idx = idx;
      if (idx >= F.XENFEAT_NR_SUBMAPS) return -E.EINVAL;
      const bits = featureSubmap0(h.d);
      h.decoded.submap = bits;
      return g.putU32(fld(arg, V.xen_feature_info.submap), bits) ? 0 : -E.EFAULT;
    }
    case V.XENVER_pagesize:
      return arg === 0n ? 4096 : -E.EINVAL;
    case V.XENVER_guest_handle:
      return g.write(arg, h.d.handle) ? 0 : -E.EFAULT;
    case V.XENVER_commandline:
      // Copies the whole saved command line (1024 bytes), or "<denied>" and its NUL.
      return priv ? str('', V.xen_commandline_t.size) : str(DENIED, DENIED.length + 1);
    case V.XENVER_build_id:
      // A simulated Xen has no build id: xen_build_id() answers -ENODATA.
      return priv ? -E.ENODATA : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}
