/**
 * Code breakpoints as a user writes them, for `replay --break` and the
 * TUI: `[DOM[.VCPU]:]WHERE`, WHERE an address (0x...) or a symbol of the
 * domain's image with an optional +OFFSET. A symbol without a domain is
 * looked up in every domain's image (domains may run different kernels);
 * an address without one applies to every vCPU. Addresses are 64-bit:
 * kernels linked in the upper half are written as they are
 * (0xffffffff81000000).
 */
import type { Breakpoint, ReplaySession, RunStop } from '../session.js';
import { stackText, symbolize } from '../symbols.js';
import { guestStack } from '../../sim/xen/guest-stack.js';
import { UsageError } from './errors.js';

/** The breakpoints one `--break` argument names (one per domain whose image has the symbol). */
export function parseBreak(session: ReplaySession, arg: string): Breakpoint[] {
  const m = /^(?:(\d+)(?:\.(\d+))?:)?([^:]+)$/.exec(arg.trim());
  if (m === null) throw new UsageError(`--break expects [DOM[.VCPU]:]ADDRESS|SYMBOL[+OFFSET], got '${arg}'`);
  const dom = m[1] === undefined ? undefined : Number(m[1]);
  const vcpu = m[2] === undefined ? undefined : Number(m[2]);
  const doms = [...new Set(session.position.vcpus.map((v) => v.dom))];
  if (dom !== undefined && !session.position.vcpus.some((v) => v.dom === dom && (vcpu === undefined || v.vcpu === vcpu))) {
    throw new UsageError(`--break ${arg}: no vCPU ${dom}${vcpu === undefined ? '' : `.${vcpu}`} in this trace`);
  }
  const where = m[3]!;
  const scope = { ...(dom !== undefined ? { dom } : {}), ...(vcpu !== undefined ? { vcpu } : {}) };
  if (/^(0x[0-9a-f]+|\d+)$/i.test(where)) {
    const addr = BigInt(where);
    if (addr >= 1n << 64n) throw new UsageError(`--break ${arg}: not a 64-bit address`);
    return [{ addr, ...scope }];
  }
  const s = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(where);
  if (s === null) throw new UsageError(`--break ${arg}: '${where}' is neither an address nor SYMBOL[+OFFSET]`);
  const off = s[2] === undefined ? 0n : BigInt(s[2]);
  const out: Breakpoint[] = [];
  for (const d of dom === undefined ? doms : [dom]) {
    const sym = session.symbolAddress(d, s[1]!);
    if (sym !== null) out.push({ addr: sym.addr + off, dom: d, ...(vcpu !== undefined ? { vcpu } : {}) });
  }
  if (out.length === 0) throw new UsageError(`--break ${arg}: no symbol '${s[1]}' in ${dom === undefined ? 'any domain\'s image' : `domain ${dom}'s image`}`);
  return out;
}

/** Where a run stopped, as a person reads it (the cursor is there). */
export function stopReport(session: ReplaySession, stop: RunStop): string {
  if (stop.why === 'end') return 'no breakpoint reached: stopped at the end of the recording\n';
  if (stop.why === 'start') return 'no breakpoint reached: stopped at the start of the recording\n';
  if (stop.at === null) return `stopped between slices, before event ${session.position.seq}\n`;
  const a = stop.at;
  const syms = session.symbols;
  const rip = session.register(a.dom, a.vcpu, 'rip');
  const what = stop.why === 'breakpoint' ? 'breakpoint' : stop.why;
  const out = [`${what} at 0x${rip.toString(16)} ${symbolize(syms, a.dom, rip)}: d${a.dom}v${a.vcpu} icount ${a.icount} (about to execute it), before event ${session.position.seq}`];
  const v = session.inspect.domains.find((d) => d.id === a.dom)?.vcpus[a.vcpu];
  if (v !== undefined) {
    // At a function's first instruction the frame is not set up yet: its caller is the return address on top of the stack.
    const entry = syms.get(a.dom)?.(rip)?.offset === 0;
    const ret = entry ? session.readMemory(a.dom, a.vcpu, v.cpu.getReg(4), 8) : null;
    const caller = ret === null ? [] : stackText(syms, a.dom, [new DataView(ret.buffer).getBigUint64(0, true)]);
    const fp = stackText(syms, a.dom, guestStack(v, rip, v.cpu.getReg(5)).slice(1));
    out.push(`  stack ${[symbolize(syms, a.dom, rip), ...caller, ...fp].join(' <- ')}`);
  }
  return `${out.join('\n')}\n`;
}
