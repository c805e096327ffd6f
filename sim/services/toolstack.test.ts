/**
 * xl's xenstore layout for a PV domU (tools/libs/light: libxl_create.c
 * libxl__domain_make, libxl_dom.c libxl__build_post, libxl_console.c /
 * libxl_device.c for console 0), as a machine builds it from a scenario.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { corpusBuilt, corpusKernel } from '../xen/test-domain.js';
import { XS, bytes, latin1, type XenStore } from './xenstored.js';

/** Reply text of one request by `domid` (dom0 privileged), "!ERR" for an error. */
function t(s: XenStore, domid: number, type: number, payload: string): string {
  const r = s.request(domid, domid === 0, { type, reqId: 1, txId: 0, payload: bytes(payload) });
  const m = r.replies[0]!;
  return m.type === XS.ERROR ? `!${latin1(m.payload).slice(0, -1)}` : latin1(m.payload);
}
const read = (s: XenStore, path: string): string => t(s, 0, XS.READ, `${path}\0`);
const perms = (s: XenStore, path: string): string => t(s, 0, XS.GET_PERMS, `${path}\0`).split('\0').filter((x) => x !== '').join(' ');

describe.skipIf(!corpusBuilt)('xl\'s xenstore entries', () => {
  const image = readFileSync(corpusKernel('hello'));
  const m = new Machine([{ id: 1, name: 'web', memoryMiB: 8, vcpus: 3, cmdline: 'console=hvc0', privileged: false, seed: 0, image, kernel: 'hello' }]);
  const s = m.store;
  const d = m.domains[0]!;
  const dom = '/local/domain/1';
  const vm = `/vm/${d.uuid}`;

  it('the domain home, owned by dom0 and readable by the domain, with libxl_dom.c\'s memory, store and cpu entries', () => {
    expect(perms(s, dom)).toBe('n0 r1');
    expect(read(s, `${dom}/name`)).toBe('web');
    expect(read(s, `${dom}/domid`)).toBe('1');
    expect(read(s, `${dom}/vm`)).toBe(vm);
    expect(read(s, `${dom}/memory/target`)).toBe('8192');
    expect(read(s, `${dom}/memory/static-max`)).toBe('8192');
    expect(read(s, `${dom}/memory/videoram`)).toBe('0');
    expect(read(s, `${dom}/store/port`)).toBe(String(d.storePort));
    expect(read(s, `${dom}/store/ring-ref`)).toBe(String(d.storeMfn));
    expect(t(s, 1, XS.DIRECTORY, 'cpu\0')).toBe('0\x001\x002\0');
    expect(read(s, `${dom}/cpu/2/availability`)).toBe('online');
    for (const p of ['cpu', 'memory', 'device', 'control', 'memory/target', 'cpu/0/availability', 'control/platform-feature-xs_reset_watches']) expect(perms(s, `${dom}/${p}`), p).toBe('n0 r1');
    expect(read(s, `${dom}/control/platform-feature-multiprocessor-suspend`)).toBe('1');
  });

  it('the directories the guest may write are its own (rwperm)', () => {
    for (const p of ['control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/feature-suspend', 'control/sysrq', 'data', 'drivers', 'feature', 'attr', 'error', 'device/suspend/event-channel']) {
      expect(perms(s, `${dom}/${p}`), p).toBe('n1');
    }
    expect(t(s, 1, XS.WRITE, 'control/feature-poweroff\x001')).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, 'memory/target\x001')).toBe('!EACCES');
  });

  it('/vm/<uuid> and /libxl/<id>', () => {
    expect(perms(s, vm)).toBe('n0 r1');
    expect(read(s, `${vm}/uuid`)).toBe(d.uuid);
    expect(read(s, `${vm}/name`)).toBe('web');
    expect(read(s, `${vm}/image/ostype`)).toBe('linux');
    expect(read(s, `${vm}/image/kernel`)).toBe('hello');
    expect(read(s, `${vm}/image/cmdline`)).toBe('console=hvc0');
    expect(read(s, `${vm}/start_time`)).toBe(`${m.xen.bootWallclock}.00`);
    expect(perms(s, '/libxl/1')).toBe('n0');
    expect(read(s, '/libxl/1/type')).toBe('pv');
    expect(t(s, 1, XS.READ, '/libxl/1/type\0')).toBe('!EACCES');
  });

  it('console 0: frontend facts read-only to the guest, backend-id its own, and xenconsoled\'s backend directory in dom0', () => {
    const front = `${dom}/console`;
    const back = '/local/domain/0/backend/console/1/0';
    expect(perms(s, front)).toBe('n0 r1');
    expect(read(s, `${front}/port`)).toBe(String(d.consolePort));
    expect(read(s, `${front}/ring-ref`)).toBe(String(d.consoleMfn));
    expect(read(s, `${front}/type`)).toBe('xenconsoled');
    expect(read(s, `${front}/limit`)).toBe('1048576');
    expect(read(s, `${front}/backend`)).toBe(back);
    expect(perms(s, `${front}/backend-id`)).toBe('n1 r0');
    expect(perms(s, back)).toBe('n0 r1');
    expect(read(s, `${back}/frontend`)).toBe(front);
    expect(read(s, `${back}/state`)).toBe('1');
    expect(read(s, `${back}/protocol`)).toBe('vt100');
    expect(read(s, '/libxl/1/device/console/0/backend')).toBe(back);
  });
});
