/**
 * Disk throughput: the corpus blkfront against dom0's blkback, writing then
 * reading back N MiB in 64-page indirect requests (twice), as MB of guest
 * I/O (read + written, as the guest counts it) per wall-clock second.
 * "whole run" is the run from boot to power-off (boot, handshake, the
 * scenario's test sessions, then the bench); "bench only" is the bench's
 * own share: the extra I/O over the extra time against the same run
 * without a bench. "checked" has the guest make and check every byte
 * (interpreted code: most of the time); "I/O only" runs the request path
 * alone. Recording the run to a trace is shown beside running it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import type { Row } from './cpu-bench.js';
import { best, guestModes } from './guest-modes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FILE = `${ROOT}corpus/scenarios/blkfront.json`;
const MIB = 8;

/** The scenario with a bench of `mib` MiB (0: none). */
function scenario(mib: number, check: boolean): Scenario {
  const s = JSON.parse(readFileSync(FILE, 'utf8')) as { maxInsns: number; domains: Array<{ cmdline: string }> };
  s.maxInsns = 20_000_000_000;
  s.domains[0]!.cmdline = `bench-mib=${mib} bench-check=${check ? 1 : 0}`;
  return parseScenario(s, FILE);
}

/** Guest I/O bytes from blkfront's last line ("..., N KiB read, M KiB written, ..."). */
function ioBytes(text: string): number {
  const m = /(\d+) KiB read, (\d+) KiB written/.exec(text);
  if (m === null) throw new Error(`blkfront did not finish: ${text.slice(-300)}`);
  return (Number(m[1]) + Number(m[2])) * 1024;
}


export async function benchDisk(): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'xenrr-bench-disk-'));
  const modes = guestModes(dir);
  try {
    for (const [how, f] of Object.entries(modes)) {
      const base = await best(() => f(scenario(0, false)));
      for (const check of [false, true]) {
        const { text, seconds } = await best(() => f(scenario(MIB, check)));
        const bytes = ioBytes(text);
        const extra = bytes - ioBytes(base.text);
        rows.push({
          workload: `${MIB} MiB x2 write+read${check ? ', checked' : ', I/O only'}`, mode: how, 'guest I/O MB': (bytes / 1e6).toFixed(1), seconds: seconds.toFixed(2),
          'MB/s whole run': (bytes / 1e6 / seconds).toFixed(1), 'MB/s bench only': (extra / 1e6 / Math.max(seconds - base.seconds, 1e-3)).toFixed(1),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
