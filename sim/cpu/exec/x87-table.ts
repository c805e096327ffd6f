/**
 * The rest of the x87 escape opcodes (D8-DF): every valid form, named as
 * objdump names it, which the core does not implement (arithmetic, loads
 * and stores of ST, compares, transcendental functions). Executing one
 * stops the run (after #NM for CR0.EM/TS, as the hardware checks first);
 * the encodings left out are the invalid ones (#UD, as on the host: the
 * table is checked against it in x87.test.ts).
 *
 * The control forms x87-ctl.ts implements are left out.
 */
import type { Cpu } from '../cpu.js';
import { x87Gate } from '../fpu.js';
import type { OpEntry } from '../optable.js';
import { X87_CTL_OPS } from './x87-ctl.js';

function opX87Unimpl(c: Cpu): void {
  x87Gate(c);
  c.unimplemented();
}

/** Memory forms by opcode (D8..DF) and ModRM.reg; null: invalid. */
const MEM: (string | null)[][] = [
  ['fadds', 'fmuls', 'fcoms', 'fcomps', 'fsubs', 'fsubrs', 'fdivs', 'fdivrs'],
  ['flds', null, 'fsts', 'fstps', 'fldenv', 'fldcw', 'fnstenv', 'fnstcw'],
  ['fiaddl', 'fimull', 'ficoml', 'ficompl', 'fisubl', 'fisubrl', 'fidivl', 'fidivrl'],
  ['fildl', 'fisttpl', 'fistl', 'fistpl', null, 'fldt', null, 'fstpt'],
  ['faddl', 'fmull', 'fcoml', 'fcompl', 'fsubl', 'fsubrl', 'fdivl', 'fdivrl'],
  ['fldl', 'fisttpll', 'fstl', 'fstpl', 'frstor', null, 'fnsave', 'fnstsw'],
  ['fiadds', 'fimuls', 'ficoms', 'ficomps', 'fisubs', 'fisubrs', 'fidivs', 'fidivrs'],
  ['filds', 'fisttps', 'fists', 'fistps', 'fbld', 'fildll', 'fbstp', 'fistpll'],
];

/**
 * Register forms by opcode and ModRM.reg: a name for all eight ST(i), or
 * eight names by ModRM.rm (null: invalid), or null for an invalid row.
 */
const REG: (string | (string | null)[] | null)[][] = [
  ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'],
  ['fld', 'fxch', ['fnop', null, null, null, null, null, null, null], 'fstp1',
    ['fchs', 'fabs', null, null, 'ftst', 'fxam', null, null],
    ['fld1', 'fldl2t', 'fldl2e', 'fldpi', 'fldlg2', 'fldln2', 'fldz', null],
    ['f2xm1', 'fyl2x', 'fptan', 'fpatan', 'fxtract', 'fprem1', 'fdecstp', 'fincstp'],
    ['fprem', 'fyl2xp1', 'fsqrt', 'fsincos', 'frndint', 'fscale', 'fsin', 'fcos']],
  ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', null, [null, 'fucompp', null, null, null, null, null, null], null, null],
  ['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu', ['fneni', 'fndisi', 'fnclex', 'fninit', 'fnsetpm', null, null, null], 'fucomi', 'fcomi', null],
  ['fadd', 'fmul', 'fcom2', 'fcomp3', 'fsubr', 'fsub', 'fdivr', 'fdiv'],
  ['ffree', 'fxch4', 'fst', 'fstp', 'fucom', 'fucomp', null, null],
  ['faddp', 'fmulp', 'fcomp5', [null, 'fcompp', null, null, null, null, null, null], 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'],
  ['ffreep', 'fxch7', 'fstp8', 'fstp9', ['fnstsw', null, null, null, null, null, null, null], 'fucomip', 'fcomip', null],
];

/** Forms x87-ctl.ts implements are left out (same opcode, ModRM.reg and mod). */
const implemented = (code: number, ext: number, mod: 'reg' | 'mem', rmv?: number): boolean =>
  X87_CTL_OPS.some((e) => e.code === code && e.ext === ext && e.mod === mod && (rmv === undefined || e.rmv === rmv));

function build(): OpEntry[] {
  const out: OpEntry[] = [];
  const base = { map: 0 as const, fn: opX87Unimpl, unimpl: 'x87' };
  for (let k = 0; k < 8; k++) {
    const code = 0xd8 + k;
    MEM[k]!.forEach((mn, ext) => {
      if (mn !== null && !implemented(code, ext, 'mem')) out.push({ ...base, code, mod: 'mem', ext, mn, ops: 'M' });
    });
    REG[k]!.forEach((row, ext) => {
      if (typeof row === 'string') out.push({ ...base, code, mod: 'reg', ext, mn: row, ops: 'STi' });
      else if (row !== null) {
        row.forEach((mn, rmv) => {
          if (mn !== null && !implemented(code, ext, 'reg', rmv)) out.push({ ...base, code, mod: 'reg', ext, rmv, mn, ops: '' });
        });
      }
    });
  }
  return out;
}

export const X87_UNIMPL_OPS: OpEntry[] = build();
