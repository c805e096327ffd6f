/**
 * `xenrr export --perfetto` as a user runs it: a recorded scenario exported
 * to JSON that parses and names its tracks, and the one-line errors with exit
 * code 2 for a bad trace, bad options and an output that cannot be written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/export-e2e`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });

type Out = { displayTimeUnit: string; traceEvents: Array<{ ph: string; cat?: string; name: string; pid: number; args?: { name?: string } }> };

describe('xenrr export --perfetto', () => {
  it.skipIf(!built)('exports a recorded scenario to trace-event JSON', () => {
    mkdirSync(DIR, { recursive: true });
    expect(xenrr('record', 'corpus/scenarios/pingpong.json', '-o', `${DIR}/pp.xrr`).status).toBe(0);
    const info = JSON.parse(xenrr('info', '--json', `${DIR}/pp.xrr`).stdout) as { countsByKind: Record<string, number> };
    const r = xenrr('export', `${DIR}/pp.xrr`, '--perfetto', `${DIR}/pp.json`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${DIR}/pp\\.json: \\d+ trace events \\(${info.countsByKind.hypercall} hypercall slices, \\d+ event-channel flows, \\d+ sends without a delivery\\), \\d+ bytes\\n$`));
    expect(existsSync(`${DIR}/pp.json.tmp`)).toBe(false);
    const out = JSON.parse(readFileSync(`${DIR}/pp.json`, 'utf8')) as Out;
    expect(out.displayTimeUnit).toBe('ns');
    const procs = out.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => `${e.pid}=${e.args?.name}`);
    expect(procs).toEqual(['0=xen', '1=ping', '2=pong']);
    expect(out.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'hypercall')).toHaveLength(info.countsByKind.hypercall!);
    expect(out.traceEvents.some((e) => e.ph === 'i' && e.name === 'pong: done, 1000 round trips')).toBe(true);

    const one = xenrr('export', `${DIR}/pp.xrr`, '--perfetto', `${DIR}/pp-dom1.json`, '--dom', '1', '--from', '0', '--to', '99');
    expect(one.status).toBe(0);
    const sub = JSON.parse(readFileSync(`${DIR}/pp-dom1.json`, 'utf8')) as Out;
    expect(sub.traceEvents.length).toBeGreaterThan(10);
    expect(sub.traceEvents.every((e) => e.pid === 1)).toBe(true);

    const dom = xenrr('export', `${DIR}/pp.xrr`, '--perfetto', `${DIR}/x.json`, '--dom', '7');
    expect(dom.status).toBe(2);
    expect(dom.stderr).toBe(`xenrr: --dom: no domain '7' in ${DIR}/pp.xrr (domains: 1 ping, 2 pong)\n`);
    const to = xenrr('export', `${DIR}/pp.xrr`, '--perfetto', `${DIR}/x.json`, '--to', 'ten');
    expect(to.status).toBe(2);
    expect(to.stderr).toBe("xenrr: --to must be a sequence number, got 'ten'\n");
    const unwritable = xenrr('export', `${DIR}/pp.xrr`, '--perfetto', `${DIR}/no/such/dir/x.json`);
    expect(unwritable.status).toBe(2);
    expect(unwritable.stderr).toBe(`xenrr: ${DIR}/no/such/dir/x.json: cannot write: no directory ${DIR}/no/such/dir\n`);
  });

  it('a missing or bad trace: one line, exit 2, nothing written', () => {
    mkdirSync(DIR, { recursive: true });
    let r = xenrr('export', `${DIR}/missing.xrr`, '--perfetto', `${DIR}/missing.json`);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`xenrr: ${DIR}/missing.xrr: no such file\n`);
    writeFileSync(`${DIR}/garbage.xrr`, 'this is not a trace at all');
    r = xenrr('export', `${DIR}/garbage.xrr`, '--perfetto', `${DIR}/garbage.json`);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`xenrr: ${DIR}/garbage.xrr: not a xenrr trace (bad magic)\n`);
    expect(existsSync(`${DIR}/garbage.json`)).toBe(false);
  });

  it('without --perfetto or --pcap: one line, exit 2', () => {
    const r = xenrr('export', 'whatever.xrr');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('xenrr: export: give --perfetto <out.json> and/or --pcap <out.pcap>\n');
  });
});
