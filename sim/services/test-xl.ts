/**
 * Test helper: create domain `id` in a bare XenStore the way xl does
 * (toolstack/domain.ts, over a dom0 connection), with made-up ring facts.
 */
import { Dom0XsClient } from './dom0-xs.js';
import { xlCreateDomain } from './toolstack/index.js';
import type { XenStore } from './xenstored.js';

export function xlTest(s: XenStore, id: number, name: string): void {
  xlCreateDomain(new Dom0XsClient(s, () => {}), {
    id, name, uuid: `00000000-0000-4000-8000-${id.toString(16).padStart(12, '0')}`, targetKiB: 16384, maxKiB: 16384, vcpus: 1,
    storePort: 1, storeMfn: 0x1000 + id, consolePort: 2, consoleMfn: 0x2000 + id, kernel: 'test', cmdline: '', startTime: 0,
  });
}
