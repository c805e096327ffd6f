/**
 * dom0's network backend and the virtual switch end to end, with the
 * corpus's netfront: the scenarios meet their expectations; recorded twice
 * they give byte-identical traces, which replay; a machine restored from a
 * snapshot taken mid-traffic runs on to exactly the recorded events (the
 * backend's rings and backlog, the switch's tables and the peer are in
 * snapshots); `export --pcap` writes a file tcpdump reads, with ARP and
 * ICMP echo request/reply lines and correct checksums; the xenstore layout
 * is xl's; a frontend that dies leaves nothing behind; bad vif and bridge
 * settings are one line, exit 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import { parseScenario } from '../../sim/scenario.js';
import type { XenStore } from '../../sim/services/xenstored.js';
import { XS_GET_PERMS } from '../../sim/xen/public/io/xs_wire.js';
import { restoreMachine, snapshotMachine, type MachineSnapshot } from '../../sim/snapshot.js';
import { eventJson, canonical } from '../../trace/columns.js';
import { buildMachine, checkExpect } from '../scenario-run.js';
import { testTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const FILE = `${ROOT}corpus/scenarios/netfront.json`;
const PAIR = `${ROOT}corpus/scenarios/netfront-pair.json`;
const built = existsSync(`${ROOT}build/corpus/pv/netfront.elf`);
const tcpdump = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' }).status === 0;
const xenrr = (cwd: string, ...args: string[]) => spawnSync(BIN, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
const load = (f: string) => parseScenario(JSON.parse(readFileSync(f, 'utf8')), f);
/** XS_GET_PERMS of `path`, as dom0 asks: "n1 r0". */
const perms = (s: XenStore, path: string): string =>
  Buffer.from(s.request(0, true, { type: XS_GET_PERMS, reqId: 1, txId: 0, payload: Buffer.from(`${path}\0`) }).replies[0]!.payload).toString('latin1').split('\0').filter((x) => x !== '').join(' ');

describe.skipIf(!built)('netback and the virtual switch with the corpus netfront', () => {
  it('both scenarios meet their expectations; every grant netback used is free again', () => {
    for (const f of [FILE, PAIR]) {
      const s = load(f);
      const m = buildMachine(s);
      const summary = m.run(s.maxInsns);
      expect(checkExpect(s, summary), f).toEqual([]);
      for (const d of m.domains) expect([...d.active.values()].every((a) => a.hostR + a.hostW + a.devR + a.devW === 0)).toBe(true);
    }
  });

  it("xenstore holds xl's vif layout, with xl's permissions, and netback's features", () => {
    const s = load(FILE);
    const m = buildMachine(s);
    const be = '/local/domain/0/backend/vif/1/0';
    const fe = '/local/domain/1/device/vif/0';
    const mac = m.store.read(`${fe}/mac`);
    expect(mac).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    const want: Record<string, string> = {
      frontend: fe, 'frontend-id': '1', online: '1', state: '2', script: '/etc/xen/scripts/vif-bridge', mac: mac!, ip: '10.0.0.2', bridge: 'xenbr0', handle: '0', type: 'vif',
      'hotplug-status': 'connected', 'feature-sg': '1', 'feature-gso-tcpv4': '1', 'feature-gso-tcpv6': '1', 'feature-ipv6-csum-offload': '1', 'feature-rx-copy': '1',
      'feature-rx-flip': '0', 'feature-multicast-control': '1', 'feature-dynamic-multicast-control': '1', 'feature-split-event-channels': '1', 'multi-queue-max-queues': '4',
    };
    for (const [k, v] of Object.entries(want)) expect(m.store.read(`${be}/${k}`), k).toBe(v);
    for (const [k, v] of Object.entries({ backend: be, 'backend-id': '0', state: '1', handle: '0', mac: mac!, trusted: '1', mtu: '1500' })) expect(m.store.read(`${fe}/${k}`), k).toBe(v);
    expect(perms(m.store, fe)).toBe('n1 r0');
    expect(perms(m.store, `${fe}/mac`)).toBe('n1 r0');
    expect(perms(m.store, `${fe}/mtu`)).toBe('n0 r1');
    expect(perms(m.store, be)).toBe('n0 r1');
    // Connected only once the hotplug script said so. The 40 echoes in flight made rx frames wait for buffers.
    // The second session has two queues, their keys under queue-N/, and split channels: both queues carry frames.
    let rx = { packets: 0, waited: 0, dropped: 0 };
    let secondQueues: Array<{ tx: { packets: number }; rx: { packets: number } }> = [];
    const summary = m.run(s.maxInsns, () => {
      if (m.store.read(`${be}/state`) === '4') expect(m.store.read(`${be}/hotplug-status`)).toBe('connected');
      const qs = m.netback.list[0]?.queues ?? [];
      if (qs.length === 1) rx = { ...qs[0]!.rx };
      if (qs.length === 2) {
        expect(m.store.read(`${fe}/multi-queue-num-queues`)).toBe('2');
        expect(m.store.read(`${fe}/queue-1/event-channel-rx`)).toMatch(/^\d+$/);
        secondQueues = qs; // the queue objects themselves: their counts as the device closed are read below
      }
    });
    expect(summary.stop).toBe('all-stopped');
    expect(rx.packets).toBeGreaterThanOrEqual(46);
    expect(rx.waited).toBeGreaterThan(0);
    expect(rx.dropped).toBe(0);
    // packets alternate over both queues (their counts when the device went away)
    const second = secondQueues.map((q) => ({ tx: q.tx.packets, rx: q.rx.packets }));
    expect(second.length).toBe(2);
    for (const q of second) expect(q.tx).toBeGreaterThan(0);
    expect(second.reduce((n, q) => n + q.rx, 0)).toBeGreaterThan(0);
    expect(m.netback.list).toEqual([]); // the device went with the domain
  });

  it('recorded twice: byte-identical traces; replay matches; export --pcap is read by tcpdump', () => {
    const dir = testTempDir('xenrr-net-');
    expect(xenrr(ROOT, 'record', FILE, '-o', `${dir}/a.xrr`, '--checkpoint-every', '50').status).toBe(0);
    expect(xenrr(ROOT, 'record', FILE, '-o', `${dir}/b.xrr`, '--checkpoint-every', '50').status).toBe(0);
    expect(readFileSync(`${dir}/a.xrr`).equals(readFileSync(`${dir}/b.xrr`))).toBe(true);
    const r = xenrr(ROOT, 'replay', `${dir}/a.xrr`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^replay: all \d+ events match/);
    const dump = xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--kind', 'net').stdout.trim().split('\n');
    expect(dump[0]).toMatch(/xenbr0 vif1\.0 -> peer: ARP, Request who-has 10\.0\.0\.1 tell 10\.0\.0\.2$/);
    expect(dump[1]).toMatch(/xenbr0 peer -> vif1\.0: ARP, Reply 10\.0\.0\.1 is-at 02:78:72:00:00:01$/);
    expect(dump).toHaveLength(102); // ARP, 4 echoes, 2 UDP and their answers; 40 UDP echoes and theirs; 3 echoes and a UDP echo after the reconnect
    expect(xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--kind', 'ring').stdout).toMatch(/netif-tx dom1->dom0 req \d+->\d+ rsp/);
    const first = JSON.parse(xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--kind', 'net', '--json', '--to', '1000000').stdout.split('\n')[0]!) as { src: string; dst: string; frame: string };
    expect(first).toMatchObject({ src: 'vif1.0', dst: 'peer' });
    expect(first.frame).toMatch(/^ffffffffffff00163e[0-9a-f]{6}0806/); // broadcast, from our MAC, ARP
    expect(xenrr(ROOT, 'diff', `${dir}/a.xrr`, `${dir}/b.xrr`, '--ignore', 'frame').status).toBe(0);
    const e = xenrr(ROOT, 'export', `${dir}/a.xrr`, '--pcap', `${dir}/out.pcap`);
    expect(e.stderr).toBe('');
    expect(e.stdout).toMatch(/out\.pcap: 102 frames, \d+ bytes/);
    expect(existsSync(`${dir}/out.pcap.tmp`)).toBe(false);
    if (!tcpdump) return;
    const t = spawnSync('tcpdump', ['-r', `${dir}/out.pcap`, '-nn', '-vv'], { encoding: 'utf8' });
    expect(t.status).toBe(0);
    const lines = spawnSync('tcpdump', ['-r', `${dir}/out.pcap`, '-nn'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(lines).toHaveLength(102);
    expect(lines[0]).toMatch(/^00:00:00\.\d+ ARP, Request who-has 10\.0\.0\.1 tell 10\.0\.0\.2, length 28$/);
    expect(lines[1]).toMatch(/ARP, Reply 10\.0\.0\.1 is-at 02:78:72:00:00:01, length 46$/);
    expect(lines[2]).toMatch(/IP 10\.0\.0\.2 > 10\.0\.0\.1: ICMP echo request, id 30834, seq 1, length 64$/);
    expect(lines[3]).toMatch(/IP 10\.0\.0\.1 > 10\.0\.0\.2: ICMP echo reply, id 30834, seq 1, length 64$/);
    expect(lines[13]).toMatch(/ICMP 10\.0\.0\.1 udp port 9 unreachable/);
    // tcpdump checks the UDP checksums, the offloaded one included; it names any bad IP or ICMP checksum.
    expect(t.stdout.match(/\[udp sum ok\]/g)).toHaveLength(85);
    expect(t.stdout).not.toMatch(/bad cksum|wrong icmp cksum|bad udp cksum/);
  });

  it('two guests ping each other through the switch: learnt unicast reaches only its port; a GSO super-frame is segmented for a frontend without GSO', () => {
    const s = load(PAIR);
    const net: Array<Extract<SimEvent, { kind: 'net' }>> = [];
    const m = buildMachine(s, { sink: (e) => void (e.kind === 'net' && net.push({ ...e, frame: e.frame.slice() })) });
    expect(checkExpect(s, m.run(s.maxInsns))).toEqual([]);
    const between = net.filter((e) => (e.src === 'vif1.0' || e.src === 'vif2.0') && e.frame[12] === 8 && e.frame[13] === 0 && e.frame[23] === 1 && e.frame[33] !== 1);
    expect(between.length).toBe(12); // 3 + 3 requests, 3 + 3 replies
    for (const e of between) expect(e.dst).toBe(e.src === 'vif1.0' ? 'vif2.0' : 'vif1.0');
    // The TCP super-frame crosses the switch whole (as tcpdump on a vif sees it); right's console says it got 3 segments.
    const tcp = net.filter((e) => e.frame[23] === 6);
    expect(tcp.map((e) => [e.src, e.dst, e.frame.length])).toEqual([['vif1.0', 'vif2.0', 14 + 20 + 20 + 3000]]);
    // A broadcast (each one's ARP for the peer) floods to every other port, the peer last.
    expect(net.find((e) => e.src === 'vif1.0' && e.frame[0] === 0xff)!.dst).toBe('vif2.0,peer');
  });

  it('a machine restored from snapshots taken mid-traffic runs on to exactly the recorded events', () => {
    const s = load(PAIR);
    const seen: string[] = [];
    const snaps: MachineSnapshot[] = [];
    const m = buildMachine(s, { sink: (e) => void seen.push(eventJson(canonical(e))) });
    m.run(s.maxInsns, () => {
      if (m.netback.list.some((v) => v.queues.length > 0)) snaps.push(snapshotMachine(m));
    });
    expect(snaps.length).toBeGreaterThan(3);
    for (const snap of [snaps[0]!, snaps[Math.floor(snaps.length / 2)]!, snaps.at(-1)!]) {
      const again: string[] = [];
      const r = buildMachine(s, { sink: (e) => void again.push(eventJson(canonical(e))) });
      restoreMachine(r, snap);
      r.run(s.maxInsns);
      expect(again.length).toBe(seen.length - snap.seq);
      expect(again).toEqual(seen.slice(snap.seq));
    }
  });

  it('a frontend that dies mid-traffic leaves no grant mapped, no device, no port on the bridge', () => {
    const s = load(FILE);
    const m = buildMachine(s);
    let killed = false;
    m.run(s.maxInsns, () => {
      const text = Buffer.from(m.domains[0]!.console).toString('latin1');
      if (!killed && text.includes('port unreachable ok')) {
        m.xen.shutdown(m.domains[0]!, 'crash');
        killed = true;
      }
    });
    expect(killed).toBe(true);
    expect(m.store.read('/local/domain/0/backend/vif/1/0/state')).toBeNull();
    expect(m.store.read('/local/domain/1/device/vif/0/state')).toBeNull();
    expect(m.netback.list).toEqual([]);
    expect(m.netback.sw.bridgeOf('vif1.0')).toBeNull();
    expect([...m.domains[0]!.active.values()].every((a) => a.hostR + a.hostW + a.devR + a.devW === 0)).toBe(true);
  });

  it('bad vifs and bridges: one line naming the field, exit 2', () => {
    const dir = testTempDir('xenrr-net-');
    const rows: Array<[string, object, string]> = [
      ['mac', { vifs: [{ mac: '00:16:3e:zz:00:01' }] }, 'domains.0.vifs.0.mac: must be a unicast MAC address, six hex pairs: 00:16:3e:12:34:56'],
      ['multicast', { vifs: [{ mac: '01:00:5e:00:00:01' }] }, 'domains.0.vifs.0.mac: must be a unicast MAC address, six hex pairs: 00:16:3e:12:34:56'],
      ['bridge', { vifs: [{ bridge: 'xenbr1' }] }, "domains.0.vifs.0.bridge: no bridge named 'xenbr1' (the scenario's bridges: xenbr0)"],
      ['ip', { vifs: [{ ip: '10.0.0.256' }] }, 'domains.0.vifs.0.ip: must be IPv4 addresses separated by spaces (10.0.0.2)'],
      ['twice', { vifs: [{ mac: '00:16:3e:00:00:09' }, { mac: '00:16:3e:00:00:09' }] }, 'domains.0.vifs.1.mac: 00:16:3e:00:00:09 is on bridge xenbr0 already (domains.0.vifs.0)'],
      ['peer-mac', { vifs: [{ mac: '02:78:72:00:00:01' }] }, 'domains.0.vifs.0.mac: 02:78:72:00:00:01 is on bridge xenbr0 already (the peer of bridges.0)'],
    ];
    for (const [name, dom, want] of rows) {
      writeFileSync(`${dir}/${name}.json`, JSON.stringify({ name, domains: [{ name: 'a', kernel: 'netfront', ...dom }] }));
      const r = xenrr(dir, 'run', `${dir}/${name}.json`);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`xenrr: ${dir}/${name}.json: ${want}\n`);
      expect(r.status).toBe(2);
    }
    const top: Array<[string, object, string]> = [
      ['peer-ip', { bridges: [{ name: 'xenbr0', peer: { ip: '10.0.0.1' } }] }, 'bridges.0.peer.ip: must be an IPv4 address with a prefix length (10.0.0.1/24)'],
      ['port', { bridges: [{ name: 'xenbr0', peer: { udpEchoPort: 70000 } }] }, 'bridges.0.peer.udpEchoPort: must be a UDP port (1 to 65535)'],
      ['names', { bridges: [{ name: 'xenbr0' }, { name: 'xenbr0' }] }, "bridges.1.name: duplicate bridge name 'xenbr0'"],
      ['ifname', { bridges: [{ name: 'a-bridge-name-too-long' }] }, 'bridges.0.name: must be an interface name of 1-15 letters, digits, _ . or -'],
    ];
    for (const [name, sc, want] of top) {
      writeFileSync(`${dir}/${name}.json`, JSON.stringify({ name, domains: [{ name: 'a', kernel: 'netfront', vifs: [{}] }], ...sc }));
      const r = xenrr(dir, 'run', `${dir}/${name}.json`);
      expect(r.stderr).toBe(`xenrr: ${dir}/${name}.json: ${want}\n`);
      expect(r.status).toBe(2);
    }
    const x = xenrr(dir, 'export', `${dir}/nothing.xrr`);
    expect(x.stderr).toBe('xenrr: export: give --perfetto <out.json> and/or --pcap <out.pcap>\n');
    expect(x.status).toBe(2);
  });
});
