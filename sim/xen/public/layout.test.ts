/**
 * Checks every definition in sim/xen/public against Xen's own headers.
 *
 * The test walks the exports of every module, generates a C program that
 * includes the installed public headers (/usr/include/xen, Debian package
 * libxen-dev) and prints, for each export, the C view of it: the macro or
 * enum value of a constant, sizeof/offsetof of each descriptor key, the
 * errno and xsd_errors tables. It compiles that with gcc into build/ and
 * compares line by line. Nothing from the headers is copied or committed;
 * the program exists only at test time. Without the headers (or gcc) the
 * comparison is skipped with a message; the structural checks still run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as archXen from './arch-x86/xen.js';
import * as archX64 from './arch-x86/xen-x86_64.js';
import * as archMca from './arch-x86/xen-mca.js';
import * as callback from './callback.js';
import * as domctl from './domctl.js';
import * as elfnote from './elfnote.js';
import * as eventChannel from './event_channel.js';
import * as features from './features.js';
import * as grantTable from './grant_table.js';
import * as index from './index.js';
import * as blkif from './io/blkif.js';
import * as consoleIo from './io/console.js';
import * as netif from './io/netif.js';
import * as protocols from './io/protocols.js';
import * as ring from './io/ring.js';
import * as xenbus from './io/xenbus.js';
import * as xsWire from './io/xs_wire.js';
import * as memory from './memory.js';
import * as physdev from './physdev.js';
import * as platform from './platform.js';
import * as pmu from './pmu.js';
import * as sched from './sched.js';
import * as sysctl from './sysctl.js';
import * as vcpu from './vcpu.js';
import * as version from './version.js';
import * as xen from './xen.js';

/** Module file (relative to this folder) -> its exports. */
const MODULES: Record<string, Record<string, unknown>> = {
  'xen.ts': xen,
  'arch-x86/xen.ts': archXen,
  'arch-x86/xen-x86_64.ts': archX64,
  'arch-x86/xen-mca.ts': archMca,
  'elfnote.ts': elfnote,
  'event_channel.ts': eventChannel,
  'grant_table.ts': grantTable,
  'sched.ts': sched,
  'vcpu.ts': vcpu,
  'memory.ts': memory,
  'callback.ts': callback,
  'physdev.ts': physdev,
  'platform.ts': platform,
  'pmu.ts': pmu,
  'version.ts': version,
  'features.ts': features,
  'domctl.ts': domctl,
  'sysctl.ts': sysctl,
  'io/ring.ts': ring,
  'io/console.ts': consoleIo,
  'io/xs_wire.ts': xsWire,
  'io/blkif.ts': blkif,
  'io/netif.ts': netif,
  'io/xenbus.ts': xenbus,
  'io/protocols.ts': protocols,
};

const HEADERS = [
  'xen/xen.h', 'xen/errno.h', 'xen/elfnote.h', 'xen/event_channel.h', 'xen/grant_table.h', 'xen/sched.h',
  'xen/vcpu.h', 'xen/memory.h', 'xen/callback.h', 'xen/physdev.h', 'xen/pmu.h', 'xen/version.h', 'xen/features.h',
  'xen/domctl.h', 'xen/sysctl.h', 'xen/platform.h', 'xen/arch-x86/xen-mca.h', 'xen/arch-x86/hvm/start_info.h', 'xen/io/ring.h', 'xen/io/console.h',
  'xen/io/xs_wire.h', 'xen/io/blkif.h', 'xen/io/netif.h', 'xen/io/xenbus.h', 'xen/io/protocols.h',
];

/** Constants whose name is ours, not a C identifier of the headers: what to compare them with. */
const CONST_EXPR: Record<string, string> = {
  BLK_RING_SIZE: '__CONST_RING_SIZE(blkif, 4096)',
  NET_TX_RING_SIZE: '__CONST_RING_SIZE(netif_tx, 4096)',
  NET_RX_RING_SIZE: '__CONST_RING_SIZE(netif_rx, 4096)',
  XENMEMF_address_bits_mask: 'XENMEMF_get_address_bits(~0U)',
  E820_RAM: 'XEN_HVM_MEMMAP_TYPE_RAM',
  E820_RESERVED: 'XEN_HVM_MEMMAP_TYPE_RESERVED',
  E820_ACPI: 'XEN_HVM_MEMMAP_TYPE_ACPI',
  E820_NVS: 'XEN_HVM_MEMMAP_TYPE_NVS',
  E820_UNUSABLE: 'XEN_HVM_MEMMAP_TYPE_UNUSABLE',
};

/** Descriptors whose C type is not `struct <name>` / `union <name>` / `<name>_t`. */
const C_TYPE: Record<string, string> = {
  sring: 'struct blkif_sring', // every ring's header is the same; blkif's stands for all
  e820entry: 'struct probe_e820entry', // BIOS format, declared by the probe itself
};
const UNIONS = new Set(['grant_entry_v2', 'blkif_sring_entry', 'netif_tx_sring_entry', 'netif_rx_sring_entry']);
/** Descriptor keys whose C expression is not the generic one. */
const KEY_EXPR: Record<string, string> = {
  'sring.size': 'offsetof(struct blkif_sring, ring)',
};
/** Nested members (C paths) that descriptor keys flatten with `_`. */
const NESTED: Record<string, string[]> = {
  mmuext_op: ['arg1', 'arg2'],
  vcpu_info: ['arch', 'time'],
  shared_info: ['arch'],
  start_info: ['console.domU', 'console.dom0'],
  evtchn_status: ['u.unbound', 'u.interdomain', 'u'],
  grant_entry_v2: ['hdr', 'full_page', 'sub_page', 'transitive'],
  gnttab_copy_ptr: ['u'],
  gnttab_copy: ['source.u', 'dest.u', 'source', 'dest'],
  gnttab_cache_flush: ['a'],
  vcpu_register_runstate_memory_area: ['addr'],
  vcpu_register_time_memory_area: ['addr'],
  xen_add_to_physmap_batch: ['u'],
  xen_foreign_memory_map: ['map'],
  netif_extra_info: ['u.gso', 'u.mcast', 'u.hash', 'u'],
  xen_domctl_createdomain: ['arch'],
};

const PROBE_DECLS = 'struct probe_e820entry { uint64_t addr; uint64_t size; uint32_t type; } __attribute__((packed));';

type Layout = Record<string, number>;
type Kind = 'const' | 'layout' | 'errno' | 'xsd_errors';

function kindOf(name: string, v: unknown): Kind {
  if (name === 'Errno') return 'errno';
  if (name === 'xsd_errors') return 'xsd_errors';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return 'const';
  if (v !== null && typeof v === 'object' && 'size' in v) return 'layout';
  throw new Error(`export ${name} is neither a constant nor a struct descriptor`);
}

function cType(name: string): string {
  return C_TYPE[name] ?? (name.endsWith('_t') ? name : `${UNIONS.has(name) ? 'union' : 'struct'} ${name}`);
}

/** Descriptor key (without _stride/_sizeof) -> C member designator. */
function cPath(struct: string, key: string): string {
  const nests = [...(NESTED[struct] ?? [])].sort((a, b) => b.length - a.length);
  for (const n of nests) {
    const flat = `${n.replaceAll('.', '_')}_`;
    if (key.startsWith(flat)) return `${n}.${cPath('', key.slice(flat.length))}`;
  }
  return key === 'size_' ? 'size' : key;
}

function keyExpr(struct: string, key: string): string {
  const t = cType(struct);
  const override = KEY_EXPR[`${struct}.${key}`];
  if (override !== undefined) return override;
  if (key === 'size') return `sizeof(${t})`;
  if (key.endsWith('_stride')) return `sizeof(((${t} *)0)->${cPath(struct, key.slice(0, -7))}[0])`;
  if (key.endsWith('_sizeof')) return `sizeof(((${t} *)0)->${cPath(struct, key.slice(0, -7))})`;
  return `offsetof(${t}, ${cPath(struct, key)})`;
}

/** What the probe must print for every definition: key -> expected text. */
function expected(): { lines: string[]; want: Map<string, string>; counts: Record<Kind, number> } {
  const lines: string[] = [];
  const want = new Map<string, string>();
  const counts: Record<Kind, number> = { const: 0, layout: 0, errno: 0, xsd_errors: 0 };
  const num = (key: string, expr: string, v: number | bigint) => {
    lines.push(`  printf("%s\\t%llu\\n", ${JSON.stringify(key)}, (unsigned long long)(${expr}));`);
    want.set(key, BigInt.asUintN(64, BigInt(v)).toString());
  };
  for (const [file, mod] of Object.entries(MODULES)) {
    for (const [name, v] of Object.entries(mod)) {
      const kind = kindOf(name, v);
      if (kind === 'const') {
        counts.const++;
        const key = `${file}:${name}`;
        const expr = CONST_EXPR[name] ?? name;
        if (typeof v === 'string') {
          lines.push(`  printf("%s\\t%s\\n", ${JSON.stringify(key)}, ${expr});`);
          want.set(key, v);
        } else num(key, expr, v as number | bigint);
      } else if (kind === 'layout') {
        for (const [field, off] of Object.entries(v as Layout)) {
          counts.layout++;
          num(`${file}:${name}.${field}`, keyExpr(name, field), off);
        }
      } else if (kind === 'errno') {
        for (const [e, n] of Object.entries(v as Record<string, number>)) {
          counts.errno++;
          want.set(`errno:${e}`, String(n));
        }
      } else {
        (v as ReadonlyArray<{ errnum: number; errstring: string }>).forEach((x, i) => {
          counts.xsd_errors++;
          want.set(`xsd_errors[${i}]`, `${x.errnum} ${x.errstring}`);
        });
      }
    }
  }
  return { lines, want, counts };
}

function probeSource(lines: string[]): string {
  return [
    '/* Generated by sim/xen/public/layout.test.ts: prints the C view of every definition. */',
    '#include <stdint.h>',
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <string.h>',
    '#include <errno.h>',
    ...HEADERS.map((h) => `#include <${h}>`),
    PROBE_DECLS,
    'int main(void) {',
    ...lines,
    '  for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)',
    '    printf("xsd_errors[%zu]\\t%d %s\\n", i, xsd_errors[i].errnum, xsd_errors[i].errstring);',
    '  /* errno.h again, as a table; __XEN__ adds the Xen-internal entries. */',
    '#define XEN_ERRNO(name, value) printf("errno:%s\\t%d\\n", #name, value);',
    '#define __XEN__',
    '#include <xen/errno.h>',
    '#undef __XEN__',
    '  return 0;',
    '}',
    '',
  ].join('\n');
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = `${ROOT}build/xen-public`;
const HAVE_HEADERS = existsSync('/usr/include/xen/xen.h');
const HAVE_GCC = spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
const SKIP_WHY = !HAVE_HEADERS
  ? 'skipped: /usr/include/xen/xen.h is missing (apt-get install libxen-dev)'
  : !HAVE_GCC
    ? 'skipped: gcc is not on PATH'
    : '';
if (SKIP_WHY !== '') console.warn(`sim/xen/public/layout.test.ts: header comparison ${SKIP_WHY}`);

/** Builds and runs the probe; returns its output as key -> text. */
function runProbe(source: string): Map<string, string> {
  mkdirSync(OUT, { recursive: true });
  const tag = `${process.pid}`;
  const src = `${OUT}/layout-probe.${tag}.c`;
  const bin = `${OUT}/layout-probe.${tag}`;
  writeFileSync(src, source);
  const cc = spawnSync('gcc', ['-std=gnu11', '-D__XEN_TOOLS__', '-o', bin, src], { encoding: 'utf8' });
  // Keep the last generated source for inspection, under a stable name.
  renameSync(src, `${OUT}/layout-probe.c`);
  if (cc.status !== 0) {
    const msg = cc.stderr.replaceAll(src, 'layout-probe.c').split('\n').slice(0, 30).join('\n');
    throw new Error(`gcc failed on ${OUT}/layout-probe.c:\n${msg}`);
  }
  const out = execFileSync(bin, { encoding: 'utf8' });
  rmSync(bin);
  const got = new Map<string, string>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    got.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return got;
}

describe('sim/xen/public', () => {
  it('every module of the folder is under test', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const files = (readdirSync(here, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts' && f !== 'types.ts')
      .sort();
    expect(files).toEqual(Object.keys(MODULES).sort());
  });

  it('index.ts re-exports every definition of every module unchanged', () => {
    const idx = index as Record<string, unknown>;
    let n = 0;
    for (const [file, mod] of Object.entries(MODULES)) {
      for (const [name, v] of Object.entries(mod)) {
        n++;
        expect(idx[name], `${file}:${name}`).toBe(v);
      }
    }
    expect(Object.keys(idx).length).toBe(n);
  });

  it('every export is a constant or a well-formed struct descriptor', () => {
    const bad: string[] = [];
    for (const [file, mod] of Object.entries(MODULES)) {
      for (const [name, v] of Object.entries(mod)) {
        if (kindOf(name, v) !== 'layout') continue;
        const d = v as Layout;
        for (const [k, off] of Object.entries(d)) {
          const ok = Number.isInteger(off) && off >= 0 && (k.endsWith('_stride') ? off > 0 : off <= d.size!);
          if (!ok) bad.push(`${file}:${name}.${k} = ${off}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('ring entry counts follow the __RING_SIZE rule for one 4 KiB page', () => {
    // Power of two at or below (bytes - header) / entry.
    const entries = (entry: number) => 2 ** Math.floor(Math.log2((4096 - ring.sring.ring) / entry));
    expect(entries(blkif.blkif_sring_entry.size)).toBe(blkif.BLK_RING_SIZE);
    expect(entries(netif.netif_tx_sring_entry.size)).toBe(netif.NET_TX_RING_SIZE);
    expect(entries(netif.netif_rx_sring_entry.size)).toBe(netif.NET_RX_RING_SIZE);
    expect(blkif.blkif_sring_entry.size).toBe(Math.max(blkif.blkif_request.size, blkif.blkif_response.size));
  });

  it.skipIf(SKIP_WHY !== '')(
    `every constant, offset and size matches the installed Xen headers${SKIP_WHY ? ` (${SKIP_WHY})` : ''}`,
    () => {
      const { lines, want, counts } = expected();
      expect(counts.const).toBeGreaterThan(400);
      expect(counts.layout).toBeGreaterThan(500);
      const got = runProbe(probeSource(lines));
      const diffs: string[] = [];
      for (const [k, v] of want) if (got.get(k) !== v) diffs.push(`${k}: ours ${v}, headers ${got.get(k) ?? '(absent)'}`);
      for (const [k, v] of got) if (!want.has(k)) diffs.push(`${k}: headers ${v}, ours (absent)`);
      expect(diffs).toEqual([]);
    },
  );
});
