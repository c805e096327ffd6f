/**
 * Device actions (xl block-detach, network-attach, network-detach) on
 * corpus guests: the xenstore effects libxl has, the backends' answer
 * (InitWait for an attached vif; after a detach the directories are gone
 * and blkback/netback hold nothing of the device), the detach handshake
 * with a frontend that closes, and xl's forced removal after 10 s.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../replay/scenario-run.js';
import type { SimEvent } from './events.js';
import { parseScenario, type Scenario, type ScenarioAction } from './scenario.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/idle.elf`);

const load = (name: string, actions: unknown[], patch: (j: Record<string, unknown>) => void = () => {}): Scenario => {
  const json = JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')) as Record<string, unknown>;
  json.actions = actions as ScenarioAction[];
  patch(json);
  return parseScenario(json, `${DIR}${name}.json`);
};
const idleWith = (dev: Record<string, unknown>) => (j: Record<string, unknown>) => void Object.assign((j.domains as Array<Record<string, unknown>>)[0]!, dev);

function run(s: Scenario) {
  const events: SimEvent[] = [];
  const { summary, machine } = runScenario(s, { sink: (e) => events.push(e) });
  const texts = (kind: 'input' | 'milestone') => events.flatMap((e) => (e.kind === kind ? [e.text] : []));
  const xsOps = events.flatMap((e) => (e.kind === 'xenstore' && e.dom === 0 ? [`${e.op} ${e.path}${e.op === 'WRITE' ? ` = ${e.value}` : ''}`] : []));
  return { summary, machine, events, inputs: texts('input'), milestones: texts('milestone'), xsOps };
}

const grantsOf0 = (events: SimEvent[]) => events.flatMap((e, i) => (e.kind === 'grants' && e.dom === 0 ? [{ i, mapped: e.mapped.length }] : []));
const VBD = '/local/domain/0/backend/vbd/1/51712';

describe.skipIf(!built)('device actions', () => {
  it('block-detach of a connected disk: online=0 and Closing, the frontend closes, blkback lets go, then the directories go', () => {
    const r = run(load('blkfront', [{ at: { console: 'blkfront: connected' }, do: 'block-detach', domain: 'front', vdev: 'xvda' }]));
    expect(r.inputs).toEqual(['block-detach: xvda: backend online=0 state=Closing']);
    expect(r.milestones).toEqual([]);
    const at = (op: string) => r.xsOps.indexOf(op);
    const seq = [`WRITE ${VBD}/online = 0`, `WRITE ${VBD}/state = 5`, `WRITE ${VBD}/state = 6`, 'RM /local/domain/1/device/vbd/51712', `RM ${VBD}`, 'RM /libxl/1/device/vbd/51712'].map(at);
    expect(seq.every((x) => x >= 0)).toBe(true);
    expect([...seq].sort((a, b) => a - b)).toEqual(seq);
    // When blkback reported Closed it held no mapping of the guest's any more.
    const closedAt = r.events.findIndex((e) => e.kind === 'xenstore' && e.path === `${VBD}/state` && e.value === '6');
    // (dom0's GRANTS event comes with its state write, just before the write's own event; before it, blkback held the rings and data pages)
    const g = grantsOf0(r.events).filter((x) => x.i < closedAt);
    expect(g.at(-1)?.i).toBe(closedAt - 1);
    expect(g.at(-1)?.mapped).toBe(0);
    expect(g.at(-2)?.mapped).toBeGreaterThan(0);
    expect(r.machine.blkback.list).toEqual([]);
    expect(r.machine.store.read(VBD)).toBe(null);
    // Our corpus blkfront does not expect its device to go: it crashes writing its vanished state (a guest's own fault, not xenrr's).
    expect(r.summary.domains.map((d) => d.state)).toEqual(['crashed']);
  });

  it('a frontend that never closes (its domain paused): after 10 s xl forces the removal', () => {
    const r = run(load('blkfront', [
      { at: { console: 'blkfront: connected' }, do: 'pause', domain: 'front' },
      { at: { console: 'blkfront: connected' }, do: 'block-detach', domain: 'front', vdev: 'xvda' },
      { at: '20s', do: 'destroy', domain: 'front' },
    ]));
    expect(r.inputs).toEqual(['pause', 'block-detach: xvda: backend online=0 state=Closing', 'destroy']);
    const detachAt = r.events.find((e) => e.kind === 'input' && e.text.startsWith('block-detach'))!.time;
    const m = r.events.find((e) => e.kind === 'milestone')!;
    expect(m.kind === 'milestone' && m.text).toBe('xl: xvda: backend did not reach Closed in 10 s (ERROR_TIMEDOUT); forcing removal');
    expect(m.time).toBe(detachAt + 10_000_000_000);
    expect(r.xsOps).not.toContain(`WRITE ${VBD}/state = 6`);
    const rm = r.events.findIndex((e) => e.kind === 'xenstore' && e.op === 'RM' && e.path === VBD);
    expect(r.events[rm]!.time).toBe(m.time);
    expect(r.machine.blkback.list).toEqual([]);
  });

  it('network-attach on a running guest: the vif directories, netback at InitWait, the port on its bridge; network-detach removes it all', () => {
    const attach = { at: '1ms', do: 'network-attach', domain: 'idle', vif: { bridge: 'xenbr0', ip: '10.0.0.5' } };
    const r = run(load('idle', [attach]));
    expect(r.inputs).toEqual([expect.stringMatching(/^network-attach: vif1\.0 mac=00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2} bridge=xenbr0$/)]);
    const be = '/local/domain/0/backend/vif/1/0';
    expect(r.machine.store.read(`${be}/state`)).toBe('2');
    expect(r.machine.store.read(`${be}/hotplug-status`)).toBe('connected');
    expect(r.machine.store.read(`${be}/ip`)).toBe('10.0.0.5');
    expect(r.machine.store.read('/local/domain/1/device/vif/0/state')).toBe('1');
    expect(r.machine.netback.list.map((v) => [v.name, v.port, v.state])).toEqual([['1/0', 'vif1.0', 2]]);
    const mac = r.machine.store.read(`${be}/mac`)!;
    // A second attach takes the next device id; detaching by MAC and by device id.
    const d = run(load('idle', [attach, { ...attach, at: '2ms', vif: { mac: '00:16:3e:00:00:07' } }, { at: '3ms', do: 'network-detach', domain: 'idle', mac }, { at: '4ms', do: 'network-detach', domain: 'idle', devid: 1 }, { at: '5ms', do: 'network-detach', domain: 'idle', devid: 1 }]));
    expect(d.inputs.slice(1)).toEqual([
      'network-attach: vif1.1 mac=00:16:3e:00:00:07 bridge=xenbr0', 'network-detach: vif1.0: backend not connected, removed',
      'network-detach: vif1.1: backend not connected, removed', 'network-detach: devid 1: no such device (ENODEV)',
    ]);
    for (const p of ['/local/domain/0/backend/vif/1/0', '/local/domain/0/backend/vif/1/1', '/local/domain/1/device/vif/0', '/local/domain/1/device/vif/1', '/libxl/1/device/vif/0']) expect(d.machine.store.read(p), p).toBe(null);
    expect(d.machine.netback.list).toEqual([]);
    expect(grantsOf0(d.events).every((g) => g.mapped === 0)).toBe(true);
  });

  it('block-detach of a disk whose frontend never connected: removed at once; an unknown vdev is ENODEV', () => {
    const r = run(load('idle', [
      { at: '1ms', do: 'block-detach', domain: 'idle', vdev: 'xvdc' },
      { at: '2ms', do: 'block-detach', domain: 'idle', vdev: 'xvdb' },
    ], idleWith({ disks: [{ vdev: 'xvdb', target: 'blkfront.img', mode: 'r' }] })));
    expect(r.inputs).toEqual(['block-detach: xvdc: no such device (ENODEV)', 'block-detach: xvdb: backend not connected, removed']);
    expect(r.machine.store.read('/local/domain/0/backend/vbd/1/51728')).toBe(null);
    expect(r.machine.store.read('/local/domain/1/device/vbd/51728')).toBe(null);
    expect(r.machine.blkback.list).toEqual([]);
    expect(r.machine.toolstack.loopDevice(7, 0)).toBe(null);
  });

  it('block-attach on a running guest: the vbd directories, blkback at InitWait, the block script on a loop device; detach, attach again, EEXIST', () => {
    const attach = { at: '1ms', do: 'block-attach', domain: 'idle', disk: { vdev: 'xvdb', target: 'blkfront.img', mode: 'r' } };
    const r = run(load('idle', [attach]));
    expect(r.inputs).toEqual(['block-attach: xvdb target=blkfront.img mode=r']);
    const be = '/local/domain/0/backend/vbd/1/51728';
    expect([['state', '2'], ['params', 'blkfront.img'], ['mode', 'r'], ['online', '1'], ['physical-device', '7:0'], ['hotplug-status', 'connected']].map(([k]) => [k, r.machine.store.read(`${be}/${k}`)]))
      .toEqual([['state', '2'], ['params', 'blkfront.img'], ['mode', 'r'], ['online', '1'], ['physical-device', '7:0'], ['hotplug-status', 'connected']]);
    expect(r.machine.store.read('/local/domain/1/device/vbd/51728/virtual-device')).toBe('51728');
    expect(r.machine.blkback.list.map((d) => [d.fe, d.devid, d.state])).toEqual([[1, 51728, 2]]);
    expect(r.machine.toolstack.loopDevice(7, 0)?.readonly).toBe(true);
    const d = run(load('idle', [attach, { at: '2ms', do: 'block-detach', domain: 'idle', vdev: 'xvdb' }, { ...attach, at: '3ms' }, { ...attach, at: '4ms' }]));
    expect(d.inputs).toEqual(['block-attach: xvdb target=blkfront.img mode=r', 'block-detach: xvdb: backend not connected, removed', 'block-attach: xvdb target=blkfront.img mode=r', 'block-attach: xvdb: the domain has that device already (EEXIST)']);
    // The second attach is a new loop device; the first is gone.
    expect(d.machine.toolstack.loopDevice(7, 0)).toBe(null);
    expect(d.machine.store.read(`${be}/physical-device`)).toBe('7:1');
    expect(d.machine.blkback.list.map((x) => [x.devid, x.state])).toEqual([[51728, 2]]);
  });

  it('the schema refuses malformed device actions, one line each', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ at: '1ms', do: 'block-detach', domain: 'idle' }, /actions\.0: a block-detach action needs a `vdev`/],
      [{ at: '1ms', do: 'block-detach', domain: 'idle', vdev: 'xvd!' }, /actions\.0\.vdev: must be a virtual disk name/],
      [{ at: '1ms', do: 'network-detach', domain: 'idle' }, /needs one of `devid` or `mac`/],
      [{ at: '1ms', do: 'network-detach', domain: 'idle', devid: 0, mac: '00:16:3e:00:00:01' }, /needs one of `devid` or `mac`/],
      [{ at: '1ms', do: 'network-detach', domain: 'idle', devid: -1 }, /actions\.0\.devid: must be a device id/],
      [{ at: '1ms', do: 'network-attach', domain: 'idle', vif: { bridge: 'xenbr9' } }, /actions\.0\.vif\.bridge: no bridge named 'xenbr9'/],
      [{ at: '1ms', do: 'network-attach', domain: 'idle', vif: { mac: '01:00:00:00:00:00' } }, /actions\.0\.vif\.mac: must be a unicast MAC/],
      [{ at: '1ms', do: 'pause', domain: 'idle', vdev: 'xvdb' }, /actions\.0\.vdev: pause takes no `vdev`/],
      [{ at: '1ms', do: 'block-attach', domain: 'idle' }, /actions\.0: a block-attach action needs a `disk`/],
      [{ at: '1ms', do: 'block-attach', domain: 'idle', disk: { vdev: 'xvdb', target: 'x.img', mode: 'rw' } }, /actions\.0\.disk\.mode: must be "r", "w" or "w!"/],
      [{ at: '1ms', do: 'block-attach', domain: 'idle', disk: { vdev: 'xvdb' } }, /actions\.0\.disk\.target: /],
    ];
    for (const [a, msg] of bad) expect(() => load('idle', [a]), JSON.stringify(a)).toThrow(msg);
  });
});
