// Kernel modules the Linux driver scenarios load, taken from a Debian
// linux-image .deb (corpus/kernels.mjs) into build/kernels/modules-<version>/.
//
// A .deb ships no modules.dep (depmod writes it at install time), so the
// dependencies come from where depmod reads them: each module's .modinfo
// section, `depends=a,b`. Debian's modules are uncompressed and signed
// (CONFIG_MODULE_COMPRESS_NONE, CONFIG_MODULE_SIG); they are kept as they are.
//
// modules-<version>/modules.load lists the domU modules' file names in load
// order (every module after its dependencies), one a line: what the drivers
// initramfs's /init loads with finit_module, in that order;
// modules-<version>/modules-dom0.load does the same for DOM0_MODULES, which
// the dom0 initramfs loads (as its /lib/modules/modules.load).

import { readFileSync } from 'node:fs';

/**
 * The modules asked for (names as modinfo spells them); their dependencies
 * come along. crc32c_generic is no dependency anyone declares: ext4 and jbd2
 * ask the crypto API for "crc32c" when the filesystem has metadata_csum, and
 * the crypto API would request_module() it through a /sbin/modprobe the
 * initramfs does not have, so it is loaded first.
 */
export const WANTED_MODULES = ['crc32c_generic', 'xen-blkfront', 'ext4', 'xen-netfront'];

/**
 * What a dom0 loads to serve a domU's disk and network (xenrr.test=backends,
 * corpus/linux/backends.c): loop first (the disk image becomes /dev/loop0,
 * the physical-device blkback opens), then the two backends.
 */
export const DOM0_MODULES = ['loop', 'xen-blkback', 'xen-netback'];

/** The name of the file listing load order (domU); the initramfs keeps this name for either list. */
export const LOAD_LIST = 'modules.load';
/** The name of the file listing the dom0 modules' load order, in modules-<version>/. */
export const DOM0_LOAD_LIST = 'modules-dom0.load';

/** The NUL-separated key=value strings of an ELF64 module's .modinfo section. */
export function modinfo(ko) {
  const b = Buffer.isBuffer(ko) ? ko : readFileSync(ko);
  if (b.toString('latin1', 0, 4) !== '\x7fELF' || b[4] !== 2) throw new Error('not an ELF64 module');
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const sh = (k) => {
    const o = shoff + k * shentsize;
    return { name: b.readUInt32LE(o), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  for (let k = 0; k < shnum; k++) {
    const s = sh(k);
    const at = strtab.offset + s.name;
    if (b.toString('latin1', at, b.indexOf(0, at)) !== '.modinfo') continue;
    const out = new Map();
    for (const kv of b.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && !out.has(kv.slice(0, eq))) out.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    return out;
  }
  throw new Error('no .modinfo section');
}

/** Module name as the kernel knows it: file name without .ko, '-' read as '_'. */
export const moduleName = (file) => file.replace(/\.ko$/, '').replace(/-/g, '_');

/**
 * Load order for `wanted` and their dependencies: `files` maps module name
 * (moduleName) to its .ko path; `depends(path)` gives its declared
 * dependencies. Depth first, dependencies before dependents, otherwise in
 * the order asked; a missing module or a cycle is an error.
 */
export function loadOrder(wanted, files, depends) {
  const order = [];
  const state = new Map();
  const visit = (name, from) => {
    const key = moduleName(name);
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw new Error(`module dependency cycle through ${key}`);
    const path = files.get(key);
    if (path === undefined) throw new Error(`module ${key}${from ? ` (needed by ${from})` : ''} is not in the package`);
    state.set(key, 'visiting');
    for (const d of depends(path)) visit(d, key);
    state.set(key, 'done');
    order.push(path);
  };
  for (const w of wanted) visit(w, '');
  return order;
}

/** A module's declared dependencies (modinfo depends=). */
export function dependsOf(path) {
  const d = modinfo(path).get('depends') ?? '';
  return d === '' ? [] : d.split(',');
}
