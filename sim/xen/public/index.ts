/**
 * Xen's public ABI, as numbers: our own TypeScript definitions of the
 * constants and struct layouts in Xen's public headers (xen/include/public,
 * installed as /usr/include/xen by Debian's libxen-dev), x86-64 PV view.
 *
 * Rules of this folder:
 * - One file per upstream header, same relative path (`io/ring.h` ->
 *   `io/ring.ts`), and upstream spellings for every name, so that
 *   `grep EVTCHNOP_send` finds both Xen's header and ours. Constants are
 *   plain exported consts; the errno list is the `Errno` object (upstream's
 *   XEN_<name>), values positive (hypercalls return them negated).
 * - Structs are descriptors: objects of byte offsets plus `size` (see
 *   ./types.ts for the conventions: nested fields flattened with `_`,
 *   `<field>_stride`, `<field>_sizeof`, `size_` for a field named size).
 *   Each says which side writes which field (guest / Xen / toolstack,
 *   frontend / backend).
 * - No behaviour: nothing here reads or writes memory or computes. The
 *   ring rules (publication order, notification hold-off) are documented in
 *   io/ring.ts for the code that implements them.
 * - Values are those of Xen 4.17's headers; where a later Xen changed
 *   something (XS_TYPE_COUNT, the domctl/sysctl interface versions) the
 *   comment says so.
 * - 64-bit addresses that do not fit a double exactly enough to do
 *   arithmetic on (HYPERVISOR_VIRT_START, XEN_RUNSTATE_UPDATE) are bigints.
 *
 * layout.test.ts compiles a C program against the installed headers,
 * generated from these descriptors, and compares every constant, offset and
 * size (it skips when /usr/include/xen/xen.h is absent: apt-get install
 * libxen-dev).
 */
export type { StructLayout } from './types.js';
export * from './xen.js';
export * from './arch-x86/xen.js';
export * from './arch-x86/xen-x86_64.js';
export * from './arch-x86/xen-mca.js';
export * from './elfnote.js';
export * from './event_channel.js';
export * from './grant_table.js';
export * from './sched.js';
export * from './vcpu.js';
export * from './memory.js';
export * from './callback.js';
export * from './physdev.js';
export * from './pmu.js';
export * from './version.js';
export * from './features.js';
export * from './domctl.js';
export * from './sysctl.js';
export * from './platform.js';
export * from './io/ring.js';
export * from './io/console.js';
export * from './io/xs_wire.js';
export * from './io/blkif.js';
export * from './io/netif.js';
export * from './io/xenbus.js';
export * from './io/protocols.js';
