/**
 * The toolstack's disks: the xenstore requests libxl and the block hotplug
 * script make, in their order, and what a machine built with a disk holds
 * before its guest runs (directories, values, permissions, the backend
 * probed to InitWait and connected to its loop device).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { XS_GET_PERMS } from '../xen/public/io/xs_wire.js';
import { corpusKernel } from '../xen/test-domain.js';
import type { BackendDriver, Dom0Env, Dom0Xs, XsAnswer } from './backend.js';
import { Toolstack } from './toolstack.js';
import { bytes, latin1 } from './xenstored.js';

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
    expect(log).toEqual([
      'tx start', `rm ${lib}`, `write ${lib}/frontend=${fe} tx`, `write ${lib}/backend=${be} tx`,
      `rm ${fe}`, `mkdir ${fe}`, `perms ${fe} n3,r0`, `write ${fe}/backend=${be} tx`,
      ...['backend-id=0', 'state=1', 'virtual-device=51728', 'device-type=disk', 'protocol=x86_64-abi'].flatMap((kv) => [`write ${fe}/${kv} tx`, `perms ${fe}/${kv.split('=')[0]} n3,r0`]),
      `rm ${be}`, `mkdir ${be}`, `perms ${be} n0,r3`, `write ${be}/frontend=${fe} tx`,
      ...['params=disk.img', 'script=/etc/xen/scripts/block', 'frontend-id=3', 'online=1', 'removable=0', 'bootable=1', 'state=1', 'dev=xvdb', 'type=phy', 'mode=w', 'device-type=disk', 'discard-enable=1'].map((kv) => `write ${be}/${kv} tx`),
      'tx end true', `watch ${be}/state hotplug:3/51728`,
    ]);
  });

  it('runs the block script once the backend is in InitWait: node, physical-device, physical-device-path, hotplug-status', () => {
    const { env, log } = recordingEnv();
    const ts = new Toolstack(env);
    ts.addDisk(3, { vdev: 'xvda', target: 'a.img', mode: 'r', medium: { bytes: new Uint8Array(4096) } });
    ts.addDisk(3, { vdev: 'xvdb', target: 'b.img', mode: 'w', medium: { bytes: new Uint8Array(4096) } });
    expect(log.filter((l) => l.includes('mode=') || l.includes('discard-enable='))).toEqual([
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

const built = existsSync(corpusKernel('blkfront'));

describe.skipIf(!built)('a machine built with a disk', () => {
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
    expect(m.blkback.list.map((d) => [d.fe, d.devid, d.state, d.major, d.minor, d.mode, d.readonly])).toEqual([[1, 51712, 2, 7, 0, 'w', false]]);
  });
});
