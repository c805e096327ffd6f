/**
 * One gdb request packet -> the reply packets, over a GdbTarget. Requests
 * we do not know get the empty reply (gdb then knows the feature is
 * absent); writes to registers or memory get an `E.` error saying why: a
 * replay cannot be changed.
 */
import { fromHex, toHex } from './packet.js';
import { Monitor } from './monitor.js';
import type { GdbTarget, WatchKind } from './target.js';
import { Threads } from './threads.js';

export type Reply = { packets: string[]; close?: boolean };

const READ_ONLY = 'E.xenrr replays a recording: registers and memory cannot be changed';
const FEATURES = ['PacketSize=4000', 'QStartNoAckMode+', 'qXfer:features:read+', 'qXfer:threads:read+', 'qXfer:exec-file:read+', 'swbreak+', 'hwbreak+', 'ReverseStep+', 'ReverseContinue+', 'vContSupported+'];
const WATCH_KINDS: Record<string, WatchKind> = { 2: 'watch', 3: 'rwatch', 4: 'awatch' };

const one = (p: string): Reply => ({ packets: [p] });
/** A qXfer window: `m` and the slice when more follows, `l` and the rest when not. */
function xfer(doc: string, args: string): string {
  const [o, l] = args.split(',').map((x) => parseInt(x, 16));
  if (o === undefined || l === undefined || Number.isNaN(o) || Number.isNaN(l)) return 'E00';
  const part = doc.slice(o, o + l);
  return `${o + l < doc.length ? 'm' : 'l'}${part}`;
}

export class Dispatcher {
  readonly monitor: Monitor;
  /** after QStartNoAckMode: no `+` for packets, none expected */
  noAck = false;

  /** `execFile`: the image gdb loads symbols from when it has none (qXfer:exec-file:read). */
  constructor(readonly t: GdbTarget, private readonly execFile: (dom: number) => string | null) {
    this.monitor = new Monitor(t);
  }

  handle(p: string): Reply {
    const t = this.t;
    if (p.startsWith('qSupported')) return one(FEATURES.join(';'));
    if (p === 'QStartNoAckMode') {
      this.noAck = true;
      return one('OK');
    }
    if (p === '?') return one(t.stopReply());
    if (p.startsWith('qAttached')) return one('1');
    if (p === 'qC') return one(`QC${t.gTid.toString(16)}`);
    if (p === 'qfThreadInfo') return one(`m${t.threads.list.map((x) => x.tid.toString(16)).join(',')}`);
    if (p === 'qsThreadInfo') return one('l');
    if (p.startsWith('qThreadExtraInfo,')) {
      const th = t.thread(Threads.parse(p.slice(17)) ?? -2);
      return one(th === undefined ? 'E01' : toHex(Buffer.from(t.threads.extra(t.machine, th))));
    }
    if (p.startsWith('qXfer:features:read:target.xml:')) return one(xfer(t.regs.targetXml(), p.slice(31)));
    if (p.startsWith('qXfer:threads:read::')) return one(xfer(t.threads.xml(t.machine), p.slice(20)));
    if (p.startsWith('qXfer:exec-file:read:')) {
      const [annex = '', args = ''] = p.slice(21).split(':');
      const file = this.execFile(annex === '' ? (t.thread(t.gTid)?.dom ?? 1) : 1);
      return one(file === null ? 'E00' : xfer(file, args));
    }
    if (p.startsWith('qXfer:')) return one('');
    if (p === 'qSymbol::') return one('OK');
    if (p.startsWith('qRcmd,')) {
      const cmd = fromHex(p.slice(6));
      if (cmd === null) return one('E01');
      const out = this.monitor.run(cmd.toString('latin1'));
      return { packets: [...(out === '' ? [] : [`O${toHex(Buffer.from(out))}`]), 'OK'] };
    }
    if (p[0] === 'H' && (p[1] === 'g' || p[1] === 'c')) {
      const tid = Threads.parse(p.slice(2));
      if (tid === null || (tid > 0 && t.threads.byTid(tid) === undefined)) return one('E01');
      if (p[1] === 'g') t.gTid = tid > 0 ? tid : t.gTid;
      else t.cTid = tid;
      return one('OK');
    }
    if (p[0] === 'T') return one(t.threads.byTid(Threads.parse(p.slice(1)) ?? 0) ? 'OK' : 'E01');
    if (p === 'g') return one(t.regs.all(t.vcpu(t.gTid)!));
    if (p[0] === 'p') {
      const r = t.regs.one(t.vcpu(t.gTid)!, parseInt(p.slice(1), 16));
      return one(r ?? 'E00');
    }
    if (p[0] === 'G' || p[0] === 'P' || p[0] === 'M' || p[0] === 'X') return one(READ_ONLY);
    if (p[0] === 'm') {
      const [a, l] = p.slice(1).split(',');
      const bytes = t.readMemory(t.gTid, BigInt(`0x${a}`), parseInt(l ?? '0', 16));
      return one(bytes === null ? 'E14' : toHex(bytes));
    }
    if (p[0] === 'Z' || p[0] === 'z') return one(this.point(p));
    if (p === 'vCont?') return one('vCont;c;C;s;S');
    if (p.startsWith('vCont;')) return one(this.vCont(p.slice(6)));
    if (p === 'c' || p === 's' || /^[CS][0-9a-f]{2}$/i.test(p)) return one(this.resume('forward', p[0]!.toLowerCase() === 's' ? this.stepTid() : null));
    if (p[0] === 'c' || p[0] === 's' || p[0] === 'C' || p[0] === 'S') return one('E.a replay resumes where it stopped: no new address');
    if (p === 'bc') return one(this.resume('backward', null));
    if (p === 'bs') return one(this.resume('backward', this.stepTid()));
    if (p === 'k' || p.startsWith('vKill')) return { packets: p === 'k' ? [] : ['OK'], close: true };
    if (p === 'D' || p.startsWith('D;')) return { packets: ['OK'], close: true };
    return one('');
  }

  /** The thread a legacy step steps: Hc's, or the current one. */
  private stepTid(): number {
    return this.t.cTid > 0 ? this.t.cTid : this.t.gTid;
  }

  private resume(direction: 'forward' | 'backward', stepTid: number | null): string {
    try {
      return this.t.resume(direction, stepTid);
    } catch (e) {
      return `E.${(e as Error).message}`;
    }
  }

  /** vCont: a step action for one thread steps it (the others run as recorded meanwhile); otherwise continue. */
  private vCont(actions: string): string {
    let step: number | null = null;
    for (const a of actions.split(';')) {
      const [act = '', tidText] = a.split(':');
      if (act[0] !== 's' && act[0] !== 'S') continue;
      const tid = tidText === undefined ? this.t.gTid : Threads.parse(tidText);
      step = tid === null || tid <= 0 ? this.t.gTid : tid;
      break;
    }
    return this.resume('forward', step);
  }

  /** Z/z type,addr,kind: breakpoints 0 (software) and 1 (hardware), watchpoints 2-4. */
  private point(p: string): string {
    const m = /^([Zz])([0-4]),([0-9a-f]+),([0-9a-f]+)/i.exec(p);
    if (m === null) return 'E01';
    const on = m[1] === 'Z';
    const type = m[2]!;
    const addr = BigInt(`0x${m[3]}`);
    if (type === '0' || type === '1') {
      this.t.setBreak(type === '1', addr, on);
      return 'OK';
    }
    const err = this.t.setWatch(WATCH_KINDS[type]!, addr, parseInt(m[4]!, 16), on);
    return err === null ? 'OK' : `E.${err}`;
  }
}
