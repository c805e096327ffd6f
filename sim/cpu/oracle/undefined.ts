/**
 * What the host comparison must not compare: results the Intel SDM and the
 * AMD APM both leave undefined, results they call model-specific, and
 * behaviour that differs by vendor. The table sits beside the opcode table
 * (`opcodes.ts`) and names its forms by mnemonic; `coverage.ts` prints it.
 *
 * The simulated CPU itself is unaffected: it always produces the same values
 * for these (the ones an Intel host produces), whatever the host. Only the
 * oracle's compare looks here:
 * - `undefined` and `model` rules are masked on every host;
 * - `vendor` rules name the vendor the simulator follows (the one its CPUID
 *   names, GenuineIntel) and are masked only on a host of another vendor.
 */
import type { Insn } from '../decode.js';

export const RuleKind = { UNDEFINED: 'undefined', MODEL: 'model-specific', VENDOR: 'vendor' } as const;
export type RuleKind = (typeof RuleKind)[keyof typeof RuleKind];

/** One instruction about to run in an oracle case, and how it ended. */
export type MaskCtx = {
  ins: Insn;
  /** mnemonic and operand notation of its table entry */
  mn: string;
  ops: string;
  /** the 16 GPRs before it ran */
  regs: readonly bigint[];
  /** the count operand of a shift or rotate, before masking */
  count: number;
  /** effective address of its memory operand, when it has one */
  ea: bigint | null;
  /** exception vector it raised (on the host or in the emulator), or null */
  fault: number | null;
};

/** Parts of the final state not to compare. `regs` maps a register to the bits to ignore. */
export type Masked = { flags: number; regs: Map<number, bigint>; mem: Array<[addr: bigint, len: number]> };

export type Rule = {
  /** short id shown in test output */
  id: string;
  kind: RuleKind;
  /** mnemonics it covers */
  forms: readonly string[];
  /** what is masked, and when */
  what: string;
  /** the manuals' wording */
  source: string;
  /** for vendor rules: the vendor whose behaviour the simulator follows */
  follows?: string;
  /** adds to `m` what this instruction leaves undefined; true if it masked anything */
  apply: (x: MaskCtx, m: Masked) => boolean;
};

const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const RCX = 1, RSI = 6, RDI = 7, RSP = 4;
const LOW16 = 0xffffn;
const HIGH32 = 0xffffffff00000000n;

const flags = (m: Masked, f: number): true => {
  m.flags |= f;
  return true;
};
/** The count a shift or rotate uses: 5 bits, 6 for 64-bit operands. */
const masked = (x: MaskCtx): number => x.count & (x.ins.osz === 8 ? 0x3f : 0x1f);

export const RULES: readonly Rule[] = [
  {
    id: 'shift-flags', kind: RuleKind.UNDEFINED, forms: ['shl', 'sal', 'shr', 'sar'],
    what: 'AF for a non-zero count; OF unless the count is 1; CF of shl/shr when the count is at least the operand width',
    source: 'SDM SAL/SAR/SHL/SHR: "The OF flag is affected only for 1-bit shifts; otherwise, it is undefined. ... For a non-zero count, the AF flag is undefined." CF "is undefined for SHL and SHR instructions where the count is greater than or equal to the size (in bits) of the destination operand." APM: OF and AF undefined likewise.',
    apply: (x, m) => {
      const n = masked(x);
      if (n === 0) return false;
      const cf = (x.mn === 'shl' || x.mn === 'shr' || x.mn === 'sal') && n >= 8 * x.ins.osz ? CF : 0;
      return flags(m, AF | (n === 1 ? 0 : OF) | cf);
    },
  },
  {
    id: 'rotate-of', kind: RuleKind.UNDEFINED, forms: ['rol', 'ror', 'rcl', 'rcr'],
    what: 'OF unless the masked count is 1',
    source: 'SDM RCL/RCR/ROL/ROR: "If the masked count is 1, then the OF flag is affected, otherwise (masked count is greater than 1) the OF flag is undefined." APM: OF undefined for multi-bit rotates.',
    apply: (x, m) => {
      const n = masked(x);
      return n > 1 && flags(m, OF);
    },
  },
  {
    id: 'double-shift', kind: RuleKind.UNDEFINED, forms: ['shld', 'shrd'],
    what: 'AF for a non-zero count; OF unless the count is 1; with a count above the operand width, the result and every flag',
    source: 'SDM SHLD/SHRD: "For shifts greater than 1 bit, the OF flag is undefined. If a shift occurs, the AF flag is undefined. ... If the count is greater than the operand size, the flags are undefined" and "the result is undefined". APM: the same.',
    apply: (x, m) => {
      const n = masked(x);
      if (n === 0) return false;
      if (n > 8 * x.ins.osz) {
        if (x.ins.rm >= 0) m.regs.set(x.ins.rm, (m.regs.get(x.ins.rm) ?? 0n) | LOW16);
        else if (x.ea !== null) m.mem.push([x.ea, x.ins.osz]);
        return flags(m, CF | PF | AF | ZF | SF | OF);
      }
      return flags(m, AF | (n === 1 ? 0 : OF));
    },
  },
  {
    id: 'mul-flags', kind: RuleKind.UNDEFINED, forms: ['mul', 'imul'],
    what: 'SF ZF AF PF',
    source: 'SDM MUL, IMUL: "The SF, ZF, AF, and PF flags are undefined." APM: the same.',
    apply: (x, m) => x.fault === null && flags(m, SF | ZF | AF | PF),
  },
  {
    id: 'div-flags', kind: RuleKind.UNDEFINED, forms: ['div', 'idiv'],
    what: 'all six status flags (when it does not fault)',
    source: 'SDM DIV, IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined." APM: the same.',
    apply: (x, m) => x.fault === null && flags(m, CF | OF | SF | ZF | AF | PF),
  },
  {
    id: 'bitscan-flags', kind: RuleKind.UNDEFINED, forms: ['bsf', 'bsr'],
    what: 'CF OF SF AF PF',
    source: 'SDM BSF, BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is cleared. The CF, OF, SF, AF, and PF flags are undefined." APM: the same.',
    apply: (x, m) => x.fault === null && flags(m, CF | OF | SF | AF | PF),
  },
  {
    id: 'bittest-flags', kind: RuleKind.UNDEFINED, forms: ['bt', 'bts', 'btr', 'btc'],
    what: 'OF SF AF PF',
    source: 'SDM BT/BTS/BTR/BTC: "The CF flag contains the value of the selected bit before it is cleared. The ZF flag is unaffected. The OF, SF, AF, and PF flags are undefined." APM: OF, SF, AF, PF undefined.',
    apply: (x, m) => x.fault === null && flags(m, OF | SF | AF | PF),
  },
  {
    id: 'count-flags', kind: RuleKind.UNDEFINED, forms: ['lzcnt', 'tzcnt'],
    what: 'OF SF AF PF',
    source: 'SDM LZCNT, TZCNT: "The ZF flag is set to 1 in case of zero output ... The CF flag is set to 1 if input was zero ... OF, SF, PF and AF flags are undefined." APM: the same.',
    apply: (x, m) => x.fault === null && flags(m, OF | SF | AF | PF),
  },
  {
    id: 'logic-af', kind: RuleKind.UNDEFINED, forms: ['and', 'or', 'xor', 'test'],
    what: 'AF',
    source: 'SDM AND/OR/XOR/TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set according to the result. The state of the AF flag is undefined." APM: AF undefined.',
    apply: (x, m) => x.fault === null && flags(m, AF),
  },
  {
    id: 'bswap16', kind: RuleKind.UNDEFINED, forms: ['bswap'],
    what: 'the low 16 bits of a 16-bit bswap',
    source: 'SDM BSWAP: "When the BSWAP instruction references a 16-bit register, the result is undefined." APM: "the result is undefined".',
    apply: (x, m) => {
      if (x.ins.osz !== 2) return false;
      m.regs.set(x.ins.reg, (m.regs.get(x.ins.reg) ?? 0n) | LOW16);
      return true;
    },
  },
  {
    id: 'rep-compare-fault', kind: RuleKind.MODEL, forms: ['cmps', 'scas'],
    what: 'the status flags of a rep cmps/scas interrupted by a fault part-way',
    source: 'Neither manual defines the flags of a repeated string compare interrupted by an exception (SDM vol. 2 REP: the registers are left to resume it; the flags are not specified); hosts differ.',
    apply: (x, m) => x.ins.rep !== 0 && x.fault !== null && flags(m, CF | PF | AF | ZF | SF | OF),
  },
  {
    id: 'call-bad-target', kind: RuleKind.MODEL, forms: ['call'],
    what: 'the return-address slot below RSP when an indirect call faults on its target',
    source: 'The manuals fault a call to a non-canonical target with #GP(0) and say nothing of the stack write; some hosts have written the return address, others not.',
    apply: (x, m) => {
      if (x.fault === null || x.ins.e?.ops !== 'Eq') return false;
      m.mem.push([(x.regs[RSP]! - 8n) & 0xffffffffffffffffn, 8]);
      return true;
    },
  },
  {
    id: 'a32-rep-upper', kind: RuleKind.VENDOR, follows: 'GenuineIntel', forms: ['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs'],
    what: 'the upper halves of RCX RSI RDI after a rep string instruction with 32-bit addressing that faults or runs no iteration',
    source: 'Intel hosts write ECX/ESI/EDI (zero-extending) even then; AMD hosts leave the upper halves as they were. The simulator follows Intel, the vendor its CPUID names.',
    apply: (x, m) => {
      if (x.ins.asz !== 4 || x.ins.rep === 0) return false;
      if (x.fault === null && (x.regs[RCX]! & 0xffffffffn) !== 0n) return false;
      for (const r of [RCX, RSI, RDI]) m.regs.set(r, (m.regs.get(r) ?? 0n) | HIGH32);
      return true;
    },
  },
];

/** Rules by mnemonic. */
export const RULES_BY_MN: ReadonlyMap<string, readonly Rule[]> = (() => {
  const by = new Map<string, Rule[]>();
  for (const r of RULES) for (const f of r.forms) by.set(f, [...(by.get(f) ?? []), r]);
  return by;
})();

export const emptyMask = (): Masked => ({ flags: 0, regs: new Map(), mem: [] });
