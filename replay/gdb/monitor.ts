/**
 * `monitor` commands (qRcmd), as rr has them: where the replay is, the
 * recorded events around it, going to an event, and checkpoints to come
 * back to. A command that moves the cursor says so; gdb keeps registers
 * and frames it read before, so it is told to re-read them (the stop
 * reply it gets at its next resume would otherwise be its first news).
 */
import type { SimEvent } from '../../sim/events.js';
import { line } from '../cli/trace-cmds.js';
import type { CursorMark } from '../session.js';
import { symbolize } from '../symbols.js';
import type { GdbTarget } from './target.js';

const HELP = `xenrr monitor commands:
  when               the next event, virtual time, and every vCPU's instruction count
  events [N]         the N recorded events around the current point (default 10), as \`xenrr dump\` prints them
  seek EVENT         go to just before the instruction that raised event EVENT
  checkpoint         remember the current point (numbered from 1)
  restart N          go back to checkpoint N
  checkpoints        list the checkpoints
  help               this text
after seek and restart, run \`maint flush register-cache\` (or step): gdb keeps what it read before
`;

/** Checkpoints of one gdb connection. */
export class Monitor {
  private readonly marks: Array<{ mark: CursorMark; tid: number; where: string }> = [];

  constructor(private readonly t: GdbTarget) {}

  /** The output of one command line. */
  run(cmd: string): string {
    const [name = '', ...args] = cmd.trim().split(/\s+/);
    const s = this.t.session;
    switch (name) {
      case '':
      case 'help':
        return HELP;
      case 'when':
        return this.when();
      case 'events': {
        const n = args[0] === undefined ? 10 : Number(args[0]);
        if (!Number.isSafeInteger(n) || n <= 0) return `events: N must be a positive integer, got '${args[0]}'\n`;
        return this.events(n);
      }
      case 'seek': {
        const seq = Number(args[0]);
        if (args[0] === undefined || !Number.isSafeInteger(seq) || seq < 0) return `seek: give an event number, got '${args[0] ?? ''}'\n`;
        if (s.eventAt(seq) === null) return `seek: no event ${seq} in this trace\n`;
        this.t.seekEvent(seq);
        return `${this.where()}\n(run \`maint flush register-cache\` to see the new state)\n`;
      }
      case 'checkpoint': {
        this.marks.push({ mark: s.mark, tid: this.t.gTid, where: this.where() });
        return `checkpoint ${this.marks.length}: ${this.where()}\n`;
      }
      case 'checkpoints':
        return this.marks.length === 0 ? 'no checkpoints\n' : this.marks.map((c, k) => `${k + 1}: ${c.where}\n`).join('');
      case 'restart': {
        const k = Number(args[0]);
        const c = this.marks[k - 1];
        if (c === undefined) return `restart: no checkpoint '${args[0] ?? ''}' (${this.marks.length} taken)\n`;
        s.goTo(c.mark);
        this.t.gTid = c.tid;
        return `${this.where()}\n(run \`maint flush register-cache\` to see the new state)\n`;
      }
      default:
        return `unknown monitor command '${name}' (monitor help lists them)\n`;
    }
  }

  /** The current thread, its instruction count and location. */
  private where(): string {
    const s = this.t.session;
    const th = this.t.thread(this.t.gTid)!;
    const v = s.position.vcpus.find((x) => x.dom === th.dom && x.vcpu === th.vcpu)!;
    const rip = s.register(th.dom, th.vcpu, 'rip');
    return `${th.name} icount ${v.icount} at 0x${rip.toString(16)} ${symbolize(s.symbols, th.dom, rip)}, before event ${s.position.seq}`;
  }

  private when(): string {
    const s = this.t.session;
    const p = s.position;
    const total = s.reader.index.eventCount;
    const out = [`event ${p.seq} of ${total} is next${p.seq >= total ? ' (the end of the recording)' : ''}, virtual time ${(p.time / 1000).toFixed(3)} us`];
    for (const v of p.vcpus) {
      const th = this.t.threads.of(v.dom, v.vcpu);
      out.push(`  ${th.name} (thread ${th.tid})${th.tid === this.t.gTid ? ' *' : '  '} icount ${v.icount}`);
    }
    return `${out.join('\n')}\n`;
  }

  /** Events around the cursor: half before it, half after, a marker where it is. */
  private events(n: number): string {
    const s = this.t.session;
    const next = s.position.seq;
    const from = Math.max(0, next - Math.ceil(n / 2));
    const out: string[] = [];
    for (let seq = from; seq < from + n; seq++) {
      if (seq === next) out.push('  ---- you are here ----');
      const e = s.eventAt(seq);
      if (e === null) break;
      out.push(line(e as SimEvent, s.symbols));
    }
    return `${out.join('\n')}\n`;
  }
}
