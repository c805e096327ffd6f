/**
 * Linux's ORC rows (orc.ts) as DWARF call frame information, a
 * .debug_frame section (DWARF 4 §6.4, version 1 CIEs), so that gdb unwinds
 * a kernel built without frame pointers as the kernel itself does:
 *
 * - CALL: CFA = the ORC base register + offset; return address at CFA - 8;
 *   RBP saved at CFA + bp_offset, at RBP + bp_offset, or unchanged.
 * - REGS / REGS_PARTIAL (entry code, with a struct pt_regs or its iret
 *   frame at the ORC base): CFA = that address, and every register the
 *   frame holds is read from it (RIP and RSP included). Their FDEs use a
 *   CIE with the "S" augmentation (a signal frame), so that gdb looks up
 *   the interrupted code at its RIP, not RIP - 1, as ORC does.
 * - END: RIP undefined, the outermost frame. Rows ORC knows nothing about
 *   (sp_reg UNDEFINED without `end`) get no FDE: gdb falls back to its own
 *   heuristics there.
 *
 * One FDE per run of rows between rows ORC knows nothing about, cut where
 * the kind changes between signal and plain frames.
 */
import { OrcReg, type OrcRow } from './orc.js';

/** DWARF x86-64 register numbers. */
const RAX = 0, RDX = 1, RCX = 2, RBX = 3, RSI = 4, RDI = 5, RBP = 6, RSP = 7, RIP = 16;
const R = (n: number): number => n; // r8..r15 are 8..15
/** struct pt_regs (arch/x86/include/asm/ptrace.h, x86-64): each register's offset. */
const PT_REGS: Array<[number, number]> = [
  [R(15), 0], [R(14), 8], [R(13), 16], [R(12), 24], [RBP, 32], [RBX, 40], [R(11), 48], [R(10), 56], [R(9), 64], [R(8), 72],
  [RAX, 80], [RCX, 88], [RDX, 96], [RSI, 104], [RDI, 112], [RIP, 128], [RSP, 152],
];
const IRET_IP = 0;
const IRET_SP = 24;
const ORC_TO_DWARF: Record<number, number> = { [OrcReg.SP]: RSP, [OrcReg.BP]: RBP, [OrcReg.DI]: RDI, [OrcReg.DX]: RDX, [OrcReg.R10]: R(10), [OrcReg.R13]: R(13) };

const DW_CFA = { advance_loc: 0x40, offset: 0x80, restore: 0xc0, advance_loc1: 0x02, advance_loc2: 0x03, advance_loc4: 0x04, undefined: 0x07, same_value: 0x08, def_cfa: 0x0c, def_cfa_expression: 0x0f, expression: 0x10, offset_extended_sf: 0x11 } as const;
const DW_OP = { deref: 0x06, consts: 0x11, plus: 0x22, breg0: 0x70, call_frame_cfa: 0x9c } as const;
const DATA_ALIGN = -8;

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const expr = (ops: number[]): number[] => [...uleb(ops.length), ...ops];
/** Register `reg` saved at CFA + off. */
function atCfa(reg: number, off: number): number[] {
  if (off % DATA_ALIGN !== 0) return [DW_CFA.expression, ...uleb(reg), ...expr([DW_OP.call_frame_cfa, DW_OP.consts, ...sleb(off), DW_OP.plus])];
  const f = off / DATA_ALIGN;
  return f >= 0 ? [DW_CFA.offset | reg, ...uleb(f)] : [DW_CFA.offset_extended_sf, ...uleb(reg), ...sleb(f)];
}

/** The CFA rule of a row; null when ORC cannot say. */
function cfaRule(r: OrcRow): number[] | null {
  if (r.spReg === OrcReg.SP_INDIRECT) return [DW_CFA.def_cfa_expression, ...expr([DW_OP.breg0 + RSP, 0, DW_OP.deref, DW_OP.consts, ...sleb(r.spOffset), DW_OP.plus])];
  if (r.spReg === OrcReg.BP_INDIRECT) return [DW_CFA.def_cfa_expression, ...expr([DW_OP.breg0 + RBP, ...sleb(r.spOffset), DW_OP.deref])];
  const reg = ORC_TO_DWARF[r.spReg];
  if (reg === undefined) return null;
  // The kernel adds no offset to DI, DX, R10, R13 (registers of an interrupted frame).
  const off = reg === RSP || reg === RBP ? r.spOffset : 0;
  return off >= 0 ? [DW_CFA.def_cfa, ...uleb(reg), ...uleb(off)] : [DW_CFA.def_cfa_expression, ...expr([DW_OP.breg0 + reg, ...sleb(off)])];
}

/** Rules a CIE starts with: CFA = RSP + 8, return address at CFA - 8, RBP unchanged. */
const INITIAL = new Map<number | 'cfa', number[]>([
  ['cfa', [DW_CFA.def_cfa, RSP, 8]],
  [RIP, [DW_CFA.offset | RIP, 1]],
  [RBP, [DW_CFA.same_value, RBP]],
]);

/** Every rule of a row (registers not named: as the CIE has them); null for a row ORC knows nothing about. */
function rules(r: OrcRow): Map<number | 'cfa', number[]> | null {
  const out = new Map(INITIAL);
  if (r.kind === 'end') {
    out.set(RIP, [DW_CFA.undefined, RIP]);
    return out;
  }
  const cfa = r.kind === 'undefined' ? null : cfaRule(r);
  if (cfa === null) return null;
  out.set('cfa', cfa);
  if (r.kind === 'regs') for (const [reg, off] of PT_REGS) out.set(reg, atCfa(reg, off));
  if (r.kind === 'regs-partial') {
    out.set(RIP, atCfa(RIP, IRET_IP));
    out.set(RSP, atCfa(RSP, IRET_SP));
  }
  if (r.bpReg === OrcReg.PREV_SP) out.set(RBP, atCfa(RBP, r.bpOffset));
  else if (r.bpReg === OrcReg.BP) out.set(RBP, [DW_CFA.expression, RBP, ...expr([DW_OP.breg0 + RBP, ...sleb(r.bpOffset)])]);
  return out;
}

const same = (a: number[] | undefined, b: number[] | undefined): boolean => a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

function advance(d: number): number[] {
  if (d < 64) return [DW_CFA.advance_loc | d];
  if (d < 0x100) return [DW_CFA.advance_loc1, d];
  if (d < 0x10000) return [DW_CFA.advance_loc2, d & 0xff, d >> 8];
  return [DW_CFA.advance_loc4, d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24];
}

/** A CIE or FDE: its length, then its body, padded to 8 bytes with DW_CFA_nop. */
function entry(body: number[]): Buffer {
  const len = Math.ceil((body.length + 4) / 8) * 8 - 4;
  const b = Buffer.alloc(4 + len);
  b.writeUInt32LE(len, 0);
  b.set(body, 4);
  return b;
}

function cie(augmentation: string): Buffer {
  const init = [...INITIAL.values()].flat();
  return entry([0xff, 0xff, 0xff, 0xff, 1, ...Buffer.from(`${augmentation}\0`, 'latin1'), ...uleb(1), ...sleb(DATA_ALIGN), RIP, ...init]);
}

function u64(v: bigint): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return [...b];
}

/** .debug_frame for `rows` (by address); `end`: where the last row ends. */
export function orcDebugFrame(rows: readonly OrcRow[], end: bigint): Uint8Array {
  const parts: Buffer[] = [cie(''), cie('S')];
  const plainCie = 0;
  const signalCie = parts[0]!.length;
  const signal = (r: OrcRow): boolean => r.kind === 'regs' || r.kind === 'regs-partial';
  let i = 0;
  while (i < rows.length) {
    const first = rows[i]!;
    let state = rules(first);
    if (state === null) {
      i++;
      continue;
    }
    // This FDE's rows: until a row ORC knows nothing about, or a change between signal and plain.
    const body: number[] = [];
    const emit = (next: Map<number | 'cfa', number[]>, from: Map<number | 'cfa', number[]>): void => {
      for (const [k, v] of next) if (!same(v, from.get(k))) body.push(...(k !== 'cfa' && same(v, INITIAL.get(k)) ? [DW_CFA.restore | k] : v));
      for (const [k] of from) if (!next.has(k) && k !== 'cfa') body.push(DW_CFA.restore | k);
    };
    emit(state, INITIAL);
    let loc = first.ip;
    let j = i + 1;
    for (; j < rows.length; j++) {
      const r = rows[j]!;
      if (r.ip === rows[j - 1]!.ip) continue;
      const next = rules(r);
      if (next === null || signal(r) !== signal(first)) break;
      const before = body.length;
      emit(next, state);
      if (body.length > before) {
        body.splice(before, 0, ...advance(Number(r.ip - loc)));
        loc = r.ip;
      }
      state = next;
    }
    const stop = j < rows.length ? rows[j]!.ip : end > first.ip ? end : first.ip + 1n;
    const cieAt = signal(first) ? signalCie : plainCie;
    parts.push(entry([...u32le(cieAt), ...u64(first.ip), ...u64(stop - first.ip), ...body]));
    i = j;
  }
  return Buffer.concat(parts);
}

function u32le(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
}
