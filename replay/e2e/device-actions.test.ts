/**
 * Device actions (block-detach, network-attach, network-detach) from the
 * command line and through record/replay: recorded twice byte-identical,
 * replayed exactly, also seeking from checkpoints taken while a vif
 * attached by an action exists and while a detach waits; bad values are
 * one line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { parseAction } from '../cli/actions.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const SCEN = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/netfront.elf`) && existsSync(`${ROOT}build/corpus/pv/blkfront.elf`);
const DIR = fileTempDir('xenrr-device-actions-');
const xenrr = (...args: string[]) => spawnSync(BIN, args, { encoding: 'utf8' });

beforeAll(async () => {
  await initZstd();
});

describe('--action device values', () => {
  it('ARG: a vdev, a device id or a MAC (with its colons), xl vif spec keys', () => {
    expect(parseAction('5ms:block-detach:g:xvdb')).toEqual({ at: '5ms', do: 'block-detach', domain: 'g', vdev: 'xvdb' });
    expect(parseAction('5ms:network-detach:g:1')).toEqual({ at: '5ms', do: 'network-detach', domain: 'g', devid: 1 });
    expect(parseAction('5ms:network-detach:g:00:16:3e:00:00:01')).toEqual({ at: '5ms', do: 'network-detach', domain: 'g', mac: '00:16:3e:00:00:01' });
    expect(parseAction('console=a:b:network-attach:g:bridge=br1,mac=00:16:3e:00:00:02,ip=10.0.0.9')).toEqual({
      at: { console: 'a:b' }, do: 'network-attach', domain: 'g', vif: { bridge: 'br1', mac: '00:16:3e:00:00:02', ip: '10.0.0.9' },
    });
    expect(parseAction('1s:network-attach:g')).toEqual({ at: '1s', do: 'network-attach', domain: 'g', vif: {} });
    expect(parseAction('5ms:block-attach:g:xvdb=disk.img,r')).toEqual({ at: '5ms', do: 'block-attach', domain: 'g', disk: { vdev: 'xvdb', target: 'disk.img', mode: 'r' } });
    expect(parseAction('5ms:block-attach:g:xvdb=../d/x.img')).toEqual({ at: '5ms', do: 'block-attach', domain: 'g', disk: { vdev: 'xvdb', target: '../d/x.img' } });
  });
});

describe.skipIf(!built)('device actions end to end', () => {
  // [scenario, --action values, exit status: 1 when the guest's own expectations fail]
  const cases: Array<[string, string[], number]> = [
    // vif 0 detached while netfront runs its first session (it closes); at 1 ms a new vif takes the free device id 0 (the same
    // default MAC) and netfront, polling for its device, connects to it and finishes both sessions.
    ['netfront', ['--action', 'console=netfront: connected, 1 queue:network-detach:front:0', '--action', '1ms:network-attach:front:ip=10.0.0.2'], 0],
    ['netfront', ['--action', '100us:network-attach:front:bridge=xenbr0', '--action', '150us:network-detach:front:1'], 0],
    // blkfront does not expect its disk to go: it crashes writing its vanished state.
    ['blkfront', ['--action', 'console=blkfront: connected:block-detach:front:xvda'], 1],
    // blkfront ignores a second disk: attaching and detaching xvdb leaves its run as it was.
    ['blkfront', ['--action', '1ms:block-attach:front:xvdb=blkfront.img,r', '--action', '5ms:block-detach:front:xvdb', '--action', '6ms:block-attach:front:xvdc=blkfront.img'], 0],
  ];
  for (const [c, [name, args, status]] of cases.entries()) {
    it(`${name}.json with ${args.filter((_, i) => i % 2 === 1).join(' ')}: recorded twice byte-identical, replays exactly, seeks from checkpoints`, () => {
      const a = join(DIR, `${name}-${c}-a.xrr`);
      const b = join(DIR, `${name}-${c}-b.xrr`);
      for (const out of [a, b]) {
        const r = xenrr('record', `${SCEN}${name}.json`, '-o', out, '--checkpoint-every', '40', ...args);
        expect([r.status, r.stderr]).toEqual([status, '']);
        expect(r.stdout.trim().split('\n').every((l) => l.startsWith('expectation failed: front: ') || l.startsWith(`${out}: `)), r.stdout).toBe(true);
      }
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
      const r = xenrr('replay', a);
      expect([r.status, r.stdout]).toEqual([0, expect.stringMatching(/^replay: all \d+ events match/)]);
      const t = TraceReader.open(a);
      const inputs = [...t.events()].filter((e) => e.kind === 'input' && e.source === 'toolstack');
      expect(inputs.length).toBe(args.length / 2);
      // A checkpoint after the first action: a seek past it restores the toolstack's devices and its actions' progress.
      const cp = t.index.checkpoints.find((c) => c.seq > inputs[0]!.seq);
      expect(cp).toBeDefined();
      const end = [...t.events()].at(-1)!.seq;
      for (const at of [inputs[0]!.seq + 5, Math.min(cp!.seq + 2, end)]) {
        const seek = xenrr('replay', a, '--to', String(at));
        expect(seek.status, seek.stderr).toBe(0);
        expect(seek.stdout).toContain(`event ${at}`);
      }
      t.close();
    });
  }

  it('bad device --action values: one line, exit 2', () => {
    const NET = `${SCEN}netfront.json`;
    for (const [v, msg] of [
      ['2s:block-detach:front', /a block-detach action needs a `vdev`/],
      ['2s:block-detach:front:xvd9', /must be a virtual disk name xl accepts/],
      ['2s:network-detach:front', /needs one of `devid` or `mac`/],
      ['2s:network-detach:front:00:16:3e:zz:00:01', /must be a unicast MAC address/],
      ['2s:network-attach:front:bridge=nope', /no bridge named 'nope'/],
      ['2s:network-attach:front:colour=red', /network-attach takes a vif spec of bridge=, mac=, ip=/],
      ['2s:network-attach:front:ip=1.2.3.4,ip=1.2.3.5', /ip= given twice/],
      ['2s:pause:front:xvdb', /pause takes no argument after the domain, got 'xvdb'/],
      ['2s:block-atach:front:xvdb=x.img', /expected WHEN:DO:DOMAIN\[:ARG\]/],
      ['2s:block-attach:front:xvdb', /block-attach takes VDEV=TARGET\[,MODE\] \(xvdb=disk.img,r\), got 'xvdb'/],
      ['2s:block-attach:front:xvdb=blkfront.img,rw', /must be "r", "w" or "w!"/],
      ['2s:block-attach:front:xvd9=blkfront.img', /must be a virtual disk name xl accepts/],
    ] as const) {
      const r = xenrr('run', NET, '--action', v);
      expect([r.status, r.stderr.trim().split('\n').length], v).toEqual([2, 1]);
      expect(r.stderr).toMatch(new RegExp(`^xenrr: --action '${v.replace(/[[\]]/g, '\\$&')}': `));
      expect(r.stderr, v).toMatch(msg);
    }
  });
});
