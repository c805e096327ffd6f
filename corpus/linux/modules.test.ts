/**
 * Which modules the driver scenarios load, and in which order: dependencies
 * from each module's .modinfo (a .deb has no modules.dep), depth first.
 * Checked on made-up graphs and, once `npm run kernels` kept them, on
 * Debian's own modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DOM0_LOAD_LIST, DOM0_MODULES, dependsOf, loadOrder, modinfo, moduleName } from './modules.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULES = `${ROOT}build/kernels/modules-6.1.0-57-amd64`;

describe('module load order', () => {
  const graph: Record<string, string[]> = { ext4: ['jbd2', 'mbcache', 'crc16'], jbd2: [], mbcache: [], crc16: [], 'xen-blkfront': [], a: ['b'], b: ['a'] };
  const files = new Map(Object.keys(graph).map((k) => [moduleName(k), k]));
  const deps = (p: string): string[] => graph[p]!;

  it('puts every module after its dependencies, otherwise in the order asked, each once', () => {
    expect(loadOrder(['xen-blkfront', 'ext4', 'jbd2'], files, deps)).toEqual(['xen-blkfront', 'jbd2', 'mbcache', 'crc16', 'ext4']);
  });
  it('names a missing module and who needs it, and a cycle', () => {
    expect(() => loadOrder(['ext4'], new Map([['ext4', 'ext4']]), deps)).toThrow('module jbd2 (needed by ext4) is not in the package');
    expect(() => loadOrder(['a'], files, deps)).toThrow('module dependency cycle through a');
  });
  it('reads names as the kernel does: - and _ are the same', () => {
    expect(moduleName('xen-blkfront.ko')).toBe('xen_blkfront');
  });
});

describe.skipIf(!existsSync(`${MODULES}/ext4.ko`))("Debian's modules", () => {
  it('ext4 declares jbd2, mbcache and crc16; each is built for the kernel it came with', () => {
    expect(dependsOf(`${MODULES}/ext4.ko`).sort()).toEqual(['crc16', 'jbd2', 'mbcache']);
    expect(dependsOf(`${MODULES}/xen-blkfront.ko`)).toEqual([]);
    expect(dependsOf(`${MODULES}/xen-netfront.ko`)).toEqual([]);
    const info = modinfo(`${MODULES}/xen-blkfront.ko`);
    expect(info.get('name')).toBe('xen_blkfront');
    expect(info.get('vermagic')).toMatch(/^6\.1\.0-57-amd64 SMP /);
  });
  it('the dom0 list: loop, xen-blkback and xen-netback declare no dependencies, and load in the order asked', () => {
    for (const m of DOM0_MODULES) expect(dependsOf(`${MODULES}/${m}.ko`), m).toEqual([]);
    expect(modinfo(`${MODULES}/xen-blkback.ko`).get('alias')).toBe('xen-backend:vbd');
    expect(modinfo(`${MODULES}/xen-netback.ko`).get('alias')).toBe('xen-backend:vif');
    expect(readFileSync(`${MODULES}/${DOM0_LOAD_LIST}`, 'utf8')).toBe('loop.ko\nxen-blkback.ko\nxen-netback.ko\n');
  });
});
