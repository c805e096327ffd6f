/**
 * The toolstack: xl's xenstore layout for a PV domU (tools/libs/light:
 * libxl_create.c libxl__domain_make, libxl_dom.c libxl__build_post,
 * libxl_console.c / libxl_device.c for console 0), its disks as libxl and
 * the block hotplug script create them, libxl's order across the two, and
 * what a machine built from a scenario holds before its guest runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../machine.js';
import { XS_GET_PERMS } from '../../xen/public/io/xs_wire.js';
import { corpusBuilt, corpusKernel } from '../../xen/test-domain.js';
import type { BackendDriver, Dom0Env, Dom0Xs, XsAnswer } from '../backend.js';
import { XS, bytes, latin1, type XenStore } from '../xenstored.js';
import { Toolstack } from './index.js';

/** Reply text of one request by `domid` (dom0 privileged), "!ERR" for an error. */
function t(s: XenStore, domid: number, type: number, payload: string): string {
  const r = s.request(domid, domid === 0, { type, reqId: 1, txId: 0, payload: bytes(payload) });
  const m = r.replies[0]!;
  return m.type === XS.ERROR ? `!${latin1(m.payload).slice(0, -1)}` : latin1(m.payload);
}
const read = (s: XenStore, path: string): string => t(s, 0, XS.READ, `${path}\0`);
const perms = (s: XenStore, path: string): string => t(s, 0, XS.GET_PERMS, `${path}\0`).split('\0').filter((x) => x !== '').join(' ');

describe.skipIf(!corpusBuilt)('xl\'s xenstore entries of a machine\'s domain', () => {
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
    expect(read(s, '/libxl/1/dm-version')).toBe('qemu_xen');
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

/** A dom0 whose xenstore client records every request (and answers reads from what was written). */
function recordingEnv(): { env: Dom0Env; log: string[] } {
  const log: string[] = [];
  const values = new Map<string, string>();
  const ok: XsAnswer = { ok: true, value: 'OK' };
  const xs: Dom0Xs = {
    read: (p) => (log.push(`read ${p}`), values.get(p) ?? null),
    directory: () => null,
    write: (p, v, t) => (log.push(`write ${p}=${v}${t ? ` tx` : ''}`), values.set(p, v), ok),
    mkdir: (p) => (log.push(`mkdir ${p}`), ok),
    rm: (p) => (log.push(`rm ${p}`), ok),
    setPerms: (p, perms) => (log.push(`perms ${p} ${perms.join(',')}`), ok),
    watch: (_d: BackendDriver, p, t) => (log.push(`watch ${p} ${t}`), ok),
    unwatch: (_d: BackendDriver, p, t) => (log.push(`unwatch ${p} ${t}`), ok),
    transactionStart: () => (log.push('tx start'), 1),
    transactionEnd: (_t, c) => (log.push(`tx end ${c}`), ok),
    introduce: (d, m, p) => (log.push(`introduce ${d} ${m} ${p}`), ok),
  };
  const env = { xs } as unknown as Dom0Env;
  return { env, log };
}

describe('toolstack: a disk as libxl and the block script create it', () => {
  it('writes the libxl, frontend and backend directories in libxl order, in one transaction', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env);
    ts.addDisk(3, { vdev: 'xvdb', target: 'disk.img', mode: 'w', medium: { bytes: new Uint8Array(4096) } });
    const fe = '/local/domain/3/device/vbd/51728';
    const be = '/local/domain/0/backend/vbd/3/51728';
    const lib = '/libxl/3/device/vbd/51728';
    const bents = ['params=disk.img', 'script=/etc/xen/scripts/block', 'frontend-id=3', 'online=1', 'removable=0', 'bootable=1', 'state=1', 'dev=xvdb', 'type=phy', 'mode=w', 'device-type=disk', 'discard-enable=1', 'specification=xen'];
    expect(log).toEqual([
      'tx start', `rm ${lib}`, `write ${lib}/frontend=${fe} tx`, `write ${lib}/backend=${be} tx`,
      `rm ${fe}`, `mkdir ${fe}`, `perms ${fe} n3,r0`, `write ${fe}/backend=${be} tx`,
      ...['backend-id=0', 'state=1', 'virtual-device=51728', 'device-type=disk', 'trusted=1', 'protocol=x86_64-abi'].flatMap((kv) => [`write ${fe}/${kv} tx`, `perms ${fe}/${kv.split('=')[0]} n3,r0`]),
      `rm ${be}`, `mkdir ${be}`, `perms ${be} n0,r3`, `write ${be}/frontend=${fe} tx`,
      ...bents.map((kv) => `write ${be}/${kv} tx`),
      ...bents.map((kv) => `write ${lib}/${kv} tx`),
      'tx end true', `watch ${be}/state hotplug:3/51728`,
    ]);
  });

  it('runs the block script once the backend is in InitWait: node, physical-device, physical-device-path, hotplug-status', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env);
    ts.addDisk(3, { vdev: 'xvda', target: 'a.img', mode: 'r', medium: { bytes: new Uint8Array(4096) } });
    ts.addDisk(3, { vdev: 'xvdb', target: 'b.img', mode: 'w', medium: { bytes: new Uint8Array(4096) } });
    expect(log.filter((l) => l.startsWith('write /local') && (l.includes('mode=') || l.includes('discard-enable=')))).toEqual([
      'write /local/domain/0/backend/vbd/3/51712/mode=r tx', 'write /local/domain/0/backend/vbd/3/51712/discard-enable=0 tx',
      'write /local/domain/0/backend/vbd/3/51728/mode=w tx', 'write /local/domain/0/backend/vbd/3/51728/discard-enable=1 tx',
    ]);
    const be = '/local/domain/0/backend/vbd/3/51728';
    log.length = 0;
    ts.watch(`${be}/state`, 'hotplug:3/51728'); // still Initialising: nothing
    env.xs.write(`${be}/state`, '2');
    log.length = 0;
    ts.watch(`${be}/state`, 'hotplug:3/51728');
    expect(log).toEqual([
      `read ${be}/state`, `unwatch ${be}/state hotplug:3/51728`,
      `write ${be}/node=/dev/loop1`, `write ${be}/physical-device=7:1`, `write ${be}/physical-device-path=/dev/loop1`, `write ${be}/hotplug-status=connected`,
    ]);
    expect(ts.loopDevice(7, 1)?.readonly).toBe(false);
    expect(ts.loopDevice(7, 0)?.readonly).toBe(true);
    expect(ts.loopDevice(8, 0)).toBeNull();
  });

  it('refuses a name xl refuses and a second disk with the same device number', () => {
    const ts = new Toolstack(recordingEnv().env);
    const medium = { bytes: new Uint8Array(512) };
    expect(() => ts.addDisk(1, { vdev: 'vda', target: 'x', mode: 'w', medium })).toThrow(/not a virtual disk name/);
    ts.addDisk(1, { vdev: 'xvda', target: 'x', mode: 'w', medium });
    expect(() => ts.addDisk(1, { vdev: 'd0p0', target: 'y', mode: 'w', medium })).toThrow(/has a disk with device id 51712/);
  });
});

const blkfront = existsSync(corpusKernel('blkfront'));

describe.skipIf(!blkfront)('a machine built with a disk', () => {
  it('holds the device directories with their permissions, and a backend in InitWait on its loop device, before the guest runs', () => {
    const image = readFileSync(corpusKernel('blkfront'));
    const m = new Machine([{ id: 1, name: 'front', memoryMiB: 16, vcpus: 1, cmdline: '', privileged: false, seed: 0, image, disks: [{ vdev: 'xvda', target: 'x.img', mode: 'w', medium: { bytes: new Uint8Array(1 << 20) } }] }]);
    const s = m.store;
    const fe = '/local/domain/1/device/vbd/51712';
    const be = '/local/domain/0/backend/vbd/1/51712';
    const perms = (p: string): string => latin1(m.store.request(0, true, { type: XS_GET_PERMS, reqId: 0, txId: 0, payload: bytes(`${p}\0`) }).replies[0]!.payload).split('\0').filter(Boolean).join(',');
    expect([s.read(`${fe}/backend`), s.read(`${fe}/backend-id`), s.read(`${fe}/state`), s.read(`${fe}/virtual-device`), s.read(`${fe}/device-type`), s.read(`${fe}/protocol`)])
      .toEqual([be, '0', '1', '51712', 'disk', 'x86_64-abi']);
    expect(perms(fe)).toBe('n1,r0');
    expect(perms(`${fe}/state`)).toBe('n1,r0');
    expect(perms(be)).toBe('n0,r1');
    expect(perms(`${be}/state`)).toBe('n0,r1');
    const keys = ['frontend', 'frontend-id', 'params', 'mode', 'type', 'dev', 'state', 'feature-max-indirect-segments', 'multi-queue-max-queues', 'max-ring-page-order', 'node', 'physical-device', 'physical-device-path', 'hotplug-status'];
    expect(keys.map((k) => s.read(`${be}/${k}`))).toEqual([fe, '1', 'x.img', 'w', 'phy', 'xvda', '2', '256', '4', '4', '/dev/loop0', '7:0', '/dev/loop0', 'connected']);
    expect([s.read('/libxl/1/device/vbd/51712/frontend'), s.read('/libxl/1/device/vbd/51712/backend')]).toEqual([fe, be]);
    // libxl's copy of the backend's keys, as first written (never updated).
    expect(['params', 'state', 'mode', 'specification'].map((k) => s.read(`/libxl/1/device/vbd/51712/${k}`))).toEqual(['x.img', '1', 'w', 'xen']);
    expect([s.read(`${fe}/trusted`), s.read(`${be}/specification`)]).toEqual(['1', 'xen']);
    expect(m.blkback.list.map((d) => [d.fe, d.devid, d.state, d.major, d.minor, d.mode, d.readonly])).toEqual([[1, 51712, 2, 7, 0, 'w', false]]);
  });
});

describe('toolstack: xl create in libxl__domain_create\'s order', () => {
  const dom = { id: 3, name: 'g', uuid: '00000000-0000-4000-8000-000000000003', targetKiB: 8192, maxKiB: 8192, vcpus: 1, storePort: 1, storeMfn: 0x33, consolePort: 2, consoleMfn: 0x44, kernel: 'k', cmdline: '', startTime: 0 };
  const where = (log: string[], s: string): number => log.findIndex((l) => l.startsWith(s));

  it('domain home and XS_INTRODUCE, then the disks, and console 0 only once every disk\'s hotplug ran', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env);
    ts.createDomain(dom, [
      { vdev: 'xvda', target: 'a.img', mode: 'w', medium: { bytes: new Uint8Array(4096) } },
      { vdev: 'xvdb', target: 'b.img', mode: 'r', medium: { bytes: new Uint8Array(4096) } },
    ]);
    const intro = where(log, 'introduce 3 51 1');
    expect(where(log, 'write /libxl/3/dm-version=qemu_xen')).toBe(intro + 1);
    expect(intro).toBeGreaterThan(where(log, 'write /local/domain/3/store/ring-ref=51'));
    expect(where(log, 'write /local/domain/3/name=g')).toBeLessThan(intro);
    expect(where(log, 'tx start')).toBeGreaterThan(intro);
    expect(where(log, 'write /local/domain/3/console')).toBe(-1);
    expect(() => ts.checkCreated()).toThrow('domain 3: disk xvda: its backend never reached InitWait');
    for (const devid of [51712, 51728]) {
      const be = `/local/domain/0/backend/vbd/3/${devid}`;
      env.xs.write(`${be}/state`, '2');
      ts.watch(`${be}/state`, `hotplug:3/${devid}`);
      // Console 0 follows the last disk's hotplug, not the first's.
      expect(where(log, 'write /local/domain/3/console/backend=') >= 0, `after ${devid}`).toBe(devid === 51728);
    }
    expect(where(log, 'write /local/domain/3/console/backend=')).toBeGreaterThan(where(log, 'write /local/domain/0/backend/vbd/3/51728/hotplug-status=connected'));
    expect(() => ts.checkCreated()).not.toThrow();
  });

  it('with a guest dom0 as backend: the disk is dom0\'s /dev/loop0 (no node written), and onCreated once every device is connected', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env, { plug: () => true, unplug: () => {} });
    const created: number[] = [];
    ts.onCreated = (id) => created.push(id);
    ts.createDomain(dom, [{ vdev: 'xvda', target: '/dev/loop0', mode: 'w', medium: null }], [{ devid: 0, mac: '00:16:3e:00:00:01', bridge: 'xenbr0' }]);
    expect(ts.waiting()).toEqual([3]);
    expect(() => ts.checkCreated(true)).not.toThrow();
    const be = '/local/domain/0/backend/vbd/3/51712';
    env.xs.write(`${be}/state`, '2');
    log.length = 0;
    ts.watch(`${be}/state`, 'hotplug:3/51712');
    expect(log.filter((l) => l.startsWith(`write ${be}`))).toEqual([`write ${be}/physical-device=7:0`, `write ${be}/physical-device-path=/dev/loop0`, `write ${be}/hotplug-status=connected`]);
    expect(ts.loopDevice(7, 0)).toBeNull();
    expect(ts.disksOf(3)).toEqual([]);
    expect(created).toEqual([]);
    const vbe = '/local/domain/0/backend/vif/3/0';
    env.xs.write(`${vbe}/state`, '2');
    ts.watch(`${vbe}/state`, 'vif:3/0');
    expect(env.xs.read(`${vbe}/hotplug-status`)).toBe('connected');
    expect(created).toEqual([3]);
    expect(ts.waiting()).toEqual([]);
  });

  it('a domain without disks gets console 0 at once', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env);
    ts.createDomain(dom, []);
    expect(where(log, 'write /local/domain/0/backend/console/3/0/frontend=')).toBeGreaterThan(where(log, 'introduce 3'));
    expect(() => ts.checkCreated()).not.toThrow();
  });
});
