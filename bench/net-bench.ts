/**
 * Network throughput: the corpus netfront against dom0's netback and the
 * virtual switch's peer, doing N UDP echoes (one tx and one rx frame each,
 * 110-byte frames, the tx checksum offloaded), as packets through netback
 * per wall-clock second. "bench only" is the echoes' own rate: the extra
 * packets over the extra time of a run with N against one with N/10 (boot,
 * handshake and ARP cancel out). The guest's own work (building and checking
 * each datagram, interpreted) is part of every packet's cost. Recording the
 * run to a trace is shown beside running it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import type { Row } from './cpu-bench.js';
import { best, guestModes } from './guest-modes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FILE = `${ROOT}corpus/scenarios/netfront.json`;
const PKTS = 5000;

function scenario(n: number): Scenario {
  const s = JSON.parse(readFileSync(FILE, 'utf8')) as { maxInsns: number; domains: Array<{ cmdline: string }> };
  s.maxInsns = 20_000_000_000;
  s.domains[0]!.cmdline = `ip=10.0.0.2 bench-pkts=${n}`;
  return parseScenario(s, FILE);
}

/** Packets through netback: netfront's "done, T tx R rx packets". */
function packets(text: string): number {
  const m = /done, (\d+) tx (\d+) rx packets/.exec(text);
  if (m === null) throw new Error(`netfront did not finish: ${text.slice(-300)}`);
  return Number(m[1]) + Number(m[2]);
}


export async function benchNet(): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'xenrr-bench-net-'));
  const modes = guestModes(dir);
  try {
    modes.run(scenario(PKTS / 10)); // warm-up: the first run pays for compiling the interpreter's hot paths
    for (const [how, f] of Object.entries(modes)) {
      const base = await best(() => f(scenario(PKTS / 10)));
      const { text, seconds } = await best(() => f(scenario(PKTS)));
      const n = packets(text);
      const extra = n - packets(base.text);
      rows.push({
        workload: `${PKTS} UDP echoes via the peer`, mode: how, packets: String(n), seconds: seconds.toFixed(2),
        'pkt/s whole run': (n / seconds).toFixed(0), 'pkt/s bench only': (extra / Math.max(seconds - base.seconds, 1e-3)).toFixed(0),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
