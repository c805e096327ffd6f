/**
 * Toolstack actions on corpus guests: each action does what xl does, at the
 * time (or event, or console text) the scenario names, and shows in the
 * event stream as an INPUT event; the scenario schema refuses malformed ones.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkExpect, runScenario } from '../replay/scenario-run.js';
import type { SimEvent } from './events.js';
import { machineActions, parseScenario, parseTime, ScenarioError, type Scenario, type ScenarioAction } from './scenario.js';
import { PVCONTROL_TIMEOUT_NS } from './toolstack-actions.js';
import { RUNSTATE_offline, RUNSTATE_runnable, RUNSTATE_running } from './xen/public/vcpu.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/idle.elf`);

const load = (name: string, actions?: ScenarioAction[], patch: (j: Record<string, unknown>) => void = () => {}): Scenario => {
  const json = JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')) as Record<string, unknown>;
  if (actions !== undefined) json.actions = actions;
  patch(json);
  return parseScenario(json, `${DIR}${name}.json`);
};

function run(s: Scenario) {
  const events: SimEvent[] = [];
  const { summary, machine } = runScenario(s, { sink: (e) => events.push(e) });
  const inputs = events.filter((e): e is Extract<SimEvent, { kind: 'input' }> => e.kind === 'input');
  const consoleAt = (text: string): number => events.find((e) => e.kind === 'console' && e.text.includes(text))?.time ?? -1;
  return { summary, machine, events, inputs, consoleAt, problems: checkExpect(s, summary) };
}

describe.skipIf(!built)('toolstack actions', () => {
  it('idle.json: sysrq at 5 ms, shutdown at 10 ms, acknowledged and obeyed', () => {
    const r = run(load('idle'));
    expect(r.problems).toEqual([]);
    expect(r.summary.stop).toBe('all-stopped');
    expect(r.inputs.map((e) => [e.time, e.dom, e.vcpu, e.source, e.text])).toEqual([
      [5_000_000, 1, -1, 'toolstack', 'sysrq: control/sysrq = h'],
      [10_000_000, 1, -1, 'toolstack', 'shutdown: control/shutdown = poweroff'],
    ]);
    expect(r.consoleAt("idle: sysrq 'h'")).toBeGreaterThan(5_000_000);
    // dom0 (xl) wrote each key, the guest cleared it (its acknowledgement), all through xenstore.
    const writes = r.events.filter((e) => e.kind === 'xenstore' && e.op === 'WRITE').map((e) => e.kind === 'xenstore' && [e.dom, e.path, e.value]);
    expect(writes).toEqual([[0, '/local/domain/1/control/sysrq', 'h'], [1, '/local/domain/1/control/sysrq', ''], [0, '/local/domain/1/control/shutdown', 'poweroff'], [1, '/local/domain/1/control/shutdown', '']]);
    // Without the actions the guest sleeps forever: the run stops as deadlocked at once.
    const idle = run(load('idle', []));
    expect(idle.summary.stop).toBe('deadlock');
    expect(idle.summary.time).toBeLessThan(1_000_000);
  });

  it('reboot: control/shutdown = reboot, and the domain shuts down for a reboot', () => {
    const r = run(load('idle', [{ at: '1ms', do: 'reboot', domain: 'idle' }]));
    expect(r.inputs.map((e) => e.text)).toEqual(['reboot: control/shutdown = reboot']);
    expect(r.summary.domains.map((d) => [d.state, d.reason])).toEqual([['shutdown', 'reboot']]);
  });

  it('a guest that ignores control/shutdown: after 60 s xl gives up (the domain runs on)', () => {
    const r = run(load('idle', [{ at: '1ms', do: 'shutdown', domain: 'idle' }], (j) => void ((j.domains as Array<{ cmdline: string }>)[0]!.cmdline = 'ack=0')));
    const m = r.events.filter((e) => e.kind === 'milestone');
    expect(m.map((e) => [e.time, e.kind === 'milestone' && e.text])).toEqual([[1_000_000 + PVCONTROL_TIMEOUT_NS, 'xl: guest didn\'t acknowledge control request "poweroff" in 60 s (ERROR_TIMEDOUT); the domain runs on']]);
    expect(r.summary.stop).toBe('deadlock');
    expect(r.summary.domains[0]!.state).toBe('running');
  });

  it('pause: the domain is not scheduled while virtual time goes on; a watch event waits for unpause', () => {
    const r = run(load('idle', [
      { at: '1ms', do: 'pause', domain: 'idle' }, { at: '2ms', do: 'pause', domain: 'idle' }, { at: '3ms', do: 'sysrq', domain: 'idle', key: 's' },
      { at: '4ms', do: 'unpause', domain: 'idle' }, { at: '6ms', do: 'unpause', domain: 'idle' }, { at: '7ms', do: 'unpause', domain: 'idle' },
      { at: '8ms', do: 'shutdown', domain: 'idle' },
    ]));
    expect(r.inputs.map((e) => e.text)).toEqual(['pause', 'pause (paused 2 times)', 'sysrq: control/sysrq = s', 'unpause (still paused 1 times)', 'unpause', 'unpause: not paused (EINVAL)', 'shutdown: control/shutdown = poweroff']);
    // Woken by the watch at 3 ms, but run only from 6 ms on.
    const guest = r.events.filter((e) => e.dom === 1 && e.kind === 'hypercall');
    expect(guest.some((e) => e.time > 1_000_000 && e.time < 6_000_000)).toBe(false);
    expect(r.consoleAt("idle: sysrq 's'")).toBeGreaterThan(6_000_000);
    expect(r.summary.domains.map((d) => d.reason)).toEqual(['poweroff']);
  });

  it('pause a computing guest: it finishes later by the paused time, having run the same instructions', () => {
    const plain = run(load('compute-sha256'));
    const paused = run(load('compute-sha256', [{ at: '100us', do: 'pause', domain: 'sha256' }, { at: '3ms', do: 'unpause', domain: 'sha256' }]));
    expect(paused.problems).toEqual([]);
    expect(paused.summary.instructions).toBe(plain.summary.instructions);
    expect(paused.summary.time - plain.summary.time).toBe(2_900_000);
    const during = paused.events.filter((e) => e.dom === 1 && e.time > 100_000 && e.time < 3_000_000 && e.kind !== 'input');
    expect(during).toEqual([]);
    // Its runstate was offline while paused (runnable is never entered: nothing else runs), running otherwise.
    const rs = (r: typeof plain): number[] => r.machine.domains[0]!.vcpus[0]!.runstate.time;
    expect(rs(plain)[RUNSTATE_offline]).toBe(0);
    expect(rs(paused)[RUNSTATE_offline]).toBe(2_900_000);
    expect(rs(paused)[RUNSTATE_running]).toBe(rs(plain)[RUNSTATE_running]);
    expect(rs(paused)[RUNSTATE_runnable]).toBe(rs(plain)[RUNSTATE_runnable]);
  });

  it('destroy: the domain dies, its peer\'s port becomes unbound, its mappings are released', () => {
    // Destroy the ringpair backend as it connects: the frontend's first notify finds no peer.
    const r = run(load('ringpair', [{ at: { console: 'back: connected' }, do: 'destroy', domain: 'back' }]));
    const destroyed = r.events.find((e) => e.kind === 'domain_state' && e.dom === 2)!;
    expect(destroyed).toMatchObject({ state: 'destroyed', reason: '' });
    const before = r.events[destroyed.seq - 1]!;
    expect(before).toMatchObject({ kind: 'grants', dom: 2, mapped: [{ dom: 1 }] });
    expect(r.inputs.map((e) => [e.dom, e.text])).toEqual([[2, 'destroy']]);
    const later = r.events.filter((e) => e.seq > destroyed.seq && e.kind === 'evtchn_send' && e.dom === 1 && e.port === 3);
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(e).toMatchObject({ toDom: -1, toPort: -1 });
    expect(r.summary.domains.map((d) => d.state)).toEqual(['running', 'destroyed']);
    expect(r.summary.stop).toBe('deadlock');
    // The frontend's ring grant is no longer pinned by the dead backend (nor marked in use).
    if (before.kind !== 'grants') throw new Error('no grants report before the destroy');
    const ring = Number(before.mapped[0]!.ref);
    const front = r.machine.xen.domain(1)!;
    expect(front.active.get(ring)).toMatchObject({ hostR: 0, hostW: 0, devR: 0, devW: 0 });
    expect(r.machine.xen.frames.mem.frame(front.grantFrames[0]!)!.getUint16(ring * 8, true) & 24).toBe(0);
  });

  it('after an event, and when a console shows some text', () => {
    const r = run(load('idle', [{ at: { event: 3 }, do: 'sysrq', domain: 'idle', key: 'a' }, { at: { console: "sysrq 'a'" }, do: 'shutdown', domain: 'idle' }]));
    expect(r.summary.domains.map((d) => d.reason)).toEqual(['poweroff']);
    const [sysrq, shutdown] = r.inputs;
    expect(sysrq!.seq).toBeGreaterThan(3);
    expect(r.events.slice(0, sysrq!.seq).filter((e) => e.kind === 'input')).toEqual([]);
    const shown = r.events.find((e) => e.kind === 'console' && e.text.includes("sysrq 'a'"))!;
    expect(shutdown!.seq).toBeGreaterThan(shown.seq);
    expect(shutdown!.text).toBe('shutdown: control/shutdown = poweroff');
  });

  it('machine actions: domains by id, times in ns', () => {
    const s = load('idle', [{ at: '2.5ms', do: 'pause', domain: 'idle' }, { at: { console: 'x' }, do: 'sysrq', domain: 'idle', key: 'k' }, { at: 7, do: 'destroy', domain: 'idle' }]);
    expect(machineActions(s)).toEqual([
      { when: { time: 2_500_000 }, do: 'pause', dom: 1 },
      { when: { console: 'x', dom: 1 }, do: 'sysrq', dom: 1, key: 'k' },
      { when: { time: 7 }, do: 'destroy', dom: 1 },
    ]);
    expect([parseTime('2s'), parseTime('250us'), parseTime('100ns'), parseTime('1.5µs'), parseTime('5 ms'), parseTime('-1ms'), parseTime(1.5)]).toEqual([2e9, 250_000, 100, 1500, null, null, null]);
  });

  it('refuses malformed actions with one line naming the field', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ at: '5 min', do: 'shutdown', domain: 'idle' }, /actions\.0\.at: must be a virtual time such as "5ms"/],
      [{ at: '5ms', do: 'halt', domain: 'idle' }, /actions\.0\.do: /],
      [{ at: '5ms', do: 'shutdown', domain: 'nobody' }, /actions\.0: no domain named 'nobody' \(domains: idle\)/],
      [{ at: '5ms', do: 'sysrq', domain: 'idle' }, /a sysrq action needs a `key`/],
      [{ at: '5ms', do: 'pause', domain: 'idle', key: 'x' }, /actions\.0\.key: pause takes no `key`/],
      [{ at: '5ms', do: 'sysrq', domain: 'idle', key: 'xy' }, /actions\.0\.key: must be one character/],
      [{ at: { console: 'x', domain: 'nobody' }, do: 'pause', domain: 'idle' }, /no domain named 'nobody'/],
      [{ at: { event: -1 }, do: 'pause', domain: 'idle' }, /actions\.0\.at/],
    ];
    for (const [a, msg] of bad) expect(() => load('idle', [a as ScenarioAction]), JSON.stringify(a)).toThrow(msg);
    try {
      load('idle', [bad[0]![0] as ScenarioAction]);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
    }
  });
});
