/**
 * Emitters for the instruction that ends a block: jcc, jmp, call and ret
 * (relative and through a register or memory), and every other block end
 * through its handler. Each retires the block and says where execution
 * goes: another block of the region, or out of it (jit.ts `Jump`).
 */
import type { Insn } from './decode.js';
import { condOf } from './jit-flags.js';
import type { Gen } from './jit-gen.js';
import { POP_RSP } from './jit-mov.js';

/** Code that continues at linear (lo, hi): inside the region, or leaving it. */
export type Jump = (lo: number, hi: number) => string;

/** Target of a relative branch, or null if it is not canonical (the handler raises #GP). */
export function relTarget(i: Insn): [number, number] | null {
  const s = i.nextLo + i.immLo;
  const lo = s >>> 0;
  const hi = (i.nextHi + i.immHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
  const t = hi >> 15;
  return t === 0 || t === -1 ? [lo, hi] : null;
}

/** A canonical 64-bit address: its high half (int32) sign-extends bit 47. */
const canonical = (hi: string): string => `((${hi} >> 15) === 0 || (${hi} >> 15) === -1)`;

/** After `retire`: leave with RIP = v/vH, unless it is one of the region's return points. */
function dynamic(g: Gen, jump: Jump, returns: readonly [number, number][]): string {
  let s = '';
  for (const [lo, hi] of returns) s += `if (v === ${lo} && vH === ${hi}) ${jump(lo, hi)} `;
  return `${s}${g.exitDyn()}`;
}

/** The last instruction of a block, its retirement and the jumps after it; null: not one of the forms here. */
export function emitEnd(g: Gen, i: Insn, jump: Jump, returns: readonly [number, number][]): string | null {
  const name = i.e?.fn.name;
  const slow = (): string => g.exitBefore();
  switch (name) {
    case 'opJcc': {
      const t = relTarget(i);
      if (t === null) return null;
      return `${g.retire()} if (${condOf(i.sub, g.known)}) ${jump(t[0], t[1])} else ${jump(i.nextLo, i.nextHi)}`;
    }
    case 'opJmpJz': {
      const t = relTarget(i);
      return t === null ? null : `${g.retire()} ${jump(t[0], t[1])}`;
    }
    case 'opCallJz': {
      const t = relTarget(i);
      if (t === null) return null;
      const push = `ea = (r[8] - 8) >>> 0; eaH = (r[8] < 8 ? r[9] - 1 : r[9]) | 0;`;
      return `${push} if (${g.hit(8, true)}) { ${g.store(8, `${i.nextLo}`, `${i.nextHi}`)} r[8] = ea; r[9] = eaH; ${g.retire()} ${jump(t[0], t[1])} } else { ${slow()} }`;
    }
    case 'opRet': {
      const imm = i.e!.code === 0xc2 ? i.immLo & 0xffff : 0;
      const adj = imm === 0 ? '' : `x = r[8] + ${imm}; r[8] = x >>> 0; if (x > 0xffffffff) r[9] = r[9] + 1;`;
      return `ea = r[8]; eaH = r[9] | 0; if (${g.hit(8)} && (vH = ${g.load(8, true)}, ${canonical('vH')})) { v = ${g.load(8)}; ${POP_RSP} ${adj} ${g.retire()} ${dynamic(g, jump, returns)} } else { ${slow()} }`;
    }
    case 'opJmpEv': {
      if (i.rm >= 0) return `v = r[${2 * i.rm}]; vH = r[${2 * i.rm + 1}]; if (${canonical('vH')}) { ${g.retire()} ${dynamic(g, jump, returns)} } else { ${slow()} }`;
      return `${g.ea()} if (${g.hit(8)} && (vH = ${g.load(8, true)}, ${canonical('vH')})) { v = ${g.load(8)}; ${g.retire()} ${dynamic(g, jump, returns)} } else { ${slow()} }`;
    }
    case 'opCallEv': {
      const push = `ea = (r[8] - 8) >>> 0; eaH = (r[8] < 8 ? r[9] - 1 : r[9]) | 0; if (${g.hit(8, true)}) { ${g.store(8, `${i.nextLo}`, `${i.nextHi}`)} r[8] = ea; r[9] = eaH; ${g.retire()} ${dynamic(g, jump, returns)} } else { ${slow()} }`;
      if (i.rm >= 0) return `v = r[${2 * i.rm}]; vH = r[${2 * i.rm + 1}]; if (${canonical('vH')}) { ${push} } else { ${slow()} }`;
      return `${g.ea()} if (${g.hit(8)} && (vH = ${g.load(8, true)}, ${canonical('vH')})) { v = ${g.load(8)}; ${push} } else { ${slow()} }`;
    }
    default:
      return null;
  }
}

/**
 * Any other block end, through its handler: a branch leaves the region; an
 * instruction that left RIP after itself (cpuid, a hypercall that returned,
 * popf...) continues at the next block unless it asked to stop.
 */
export function endByHandler(g: Gen, i: Insn, jump: Jump): string {
  return `${g.call(i)} ${g.retire()} if (c.stop || c.ripLo !== ${i.nextLo} || c.ripHi !== ${i.nextHi}) ${g.exitDyn(true)} ${jump(i.nextLo, i.nextHi)}`;
}
