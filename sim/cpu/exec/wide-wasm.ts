/**
 * The 128-bit multiply and divide in WebAssembly, whose i64 arithmetic does
 * in a few instructions what doubles need 16-bit pieces for (wide.ts keeps
 * the JS interface: results in W and QR, which view this module's memory).
 *
 * The module is assembled here from the functions' instruction lists below
 * (a few hundred bytes, compiled synchronously when this file loads).
 * Memory: one page; W at byte 0 (product words, least significant first),
 * QR at byte 16 (quotient, then remainder, 64 bits each).
 */

type Op = string | number;

// ---- the functions --------------------------------------------------------------

/**
 * mul64(aL, aH, bL, bH): unsigned 64x64 -> 128 into W, the four 32x32
 * partial products of a = (aH:aL) and b = (bH:bL) summed. Locals: 4 p0 5
 * p1 6 p2 7 mid.
 */
const MUL64: Op[] = [
  ...['get', 0, 'u64', 'get', 2, 'u64', 'i64.mul', 'set', 4],
  ...['get', 1, 'u64', 'get', 2, 'u64', 'i64.mul', 'set', 5],
  ...['get', 0, 'u64', 'get', 3, 'u64', 'i64.mul', 'set', 6],
  // mid = p0 >> 32 + low(p1) + low(p2) < 3 * 2^32
  ...['get', 4, 'c64', 32, 'i64.shr_u', 'get', 5, 'lo32', 'i64.add', 'get', 6, 'lo32', 'i64.add', 'set', 7],
  // W[0..1] = mid << 32 | low(p0)
  ...['i32.const', 0, 'get', 7, 'c64', 32, 'i64.shl', 'get', 4, 'lo32', 'i64.or', 'i64.store', 0],
  // W[2..3] = aH*bH + p1 >> 32 + p2 >> 32 + mid >> 32
  ...['i32.const', 0, 'get', 1, 'u64', 'get', 3, 'u64', 'i64.mul'],
  ...['get', 5, 'c64', 32, 'i64.shr_u', 'i64.add', 'get', 6, 'c64', 32, 'i64.shr_u', 'i64.add', 'get', 7, 'c64', 32, 'i64.shr_u', 'i64.add', 'i64.store', 8],
];

/** imul64(aL, aH, bL, bH): signed, the unsigned product less b * 2^64 when a < 0 and a * 2^64 when b < 0. */
const IMUL64: Op[] = [
  ...MUL64,
  ...['i32.const', 0, 'i32.const', 0, 'i64.load', 8],
  ...['get', 3, 'u64', 'c64', 32, 'i64.shl', 'get', 2, 'u64', 'i64.or', 'c64', 0, 'get', 1, 'i32.const', 0, 'i32.lt_s', 'select', 'i64.sub'],
  ...['get', 1, 'u64', 'c64', 32, 'i64.shl', 'get', 0, 'u64', 'i64.or', 'c64', 0, 'get', 3, 'i32.const', 0, 'i32.lt_s', 'select', 'i64.sub'],
  'i64.store', 8,
];

/**
 * divU(n0, n1, n2, n3, dL, dH) -> 1, or 0 (#DE) when d is 0 or the quotient
 * does not fit in 64 bits: (n3:n2:n1:n0) / (dH:dL) into QR. With a high
 * half, long division in base 2^32 after normalizing d (Hacker's Delight,
 * divlu): each quotient digit is estimated from d's top digit and corrected
 * at most twice.
 * Locals: 6 nh 7 nl 8 d 9 s 10 dh 11 dl 12 q1 13 rhat 14 un21 15 q0 16 n1.
 */
const DIVU: Op[] = [
  ...['get', 3, 'u64', 'c64', 32, 'i64.shl', 'get', 2, 'u64', 'i64.or', 'set', 6],
  ...['get', 1, 'u64', 'c64', 32, 'i64.shl', 'get', 0, 'u64', 'i64.or', 'set', 7],
  ...['get', 5, 'u64', 'c64', 32, 'i64.shl', 'get', 4, 'u64', 'i64.or', 'tee', 8],
  ...['i64.eqz', 'get', 6, 'get', 8, 'i64.ge_u', 'i32.or', 'if', 'i32.const', 0, 'return', 'end'],
  // a 64-bit dividend: the machine's own division
  ...['get', 6, 'i64.eqz', 'if'],
  ...['i32.const', 0, 'get', 7, 'get', 8, 'i64.div_u', 'i64.store', 16],
  ...['i32.const', 0, 'get', 7, 'get', 8, 'i64.rem_u', 'i64.store', 24],
  ...['i32.const', 1, 'return', 'end'],
  // normalize: d's top bit set; nh < d still holds, so the quotient fits in 64 bits
  ...['get', 8, 'i64.clz', 'tee', 9, 'i64.eqz', 'i32.eqz', 'if'],
  ...['get', 6, 'get', 9, 'i64.shl', 'get', 7, 'c64', 64, 'get', 9, 'i64.sub', 'i64.shr_u', 'i64.or', 'set', 6],
  ...['get', 7, 'get', 9, 'i64.shl', 'set', 7],
  ...['get', 8, 'get', 9, 'i64.shl', 'set', 8, 'end'],
  ...['get', 8, 'c64', 32, 'i64.shr_u', 'set', 10, 'get', 8, 'lo32', 'set', 11],
  ...['get', 7, 'c64', 32, 'i64.shr_u', 'set', 16],
  // high digit: q1 = nh / dh, then corrected
  ...['get', 6, 'get', 10, 'i64.div_u', 'set', 12, 'get', 6, 'get', 12, 'get', 10, 'i64.mul', 'i64.sub', 'set', 13],
  ...correct(12, 16),
  // un21 = (nh:n1) - q1 * d, exact modulo 2^64 because it is below d
  ...['get', 6, 'c64', 32, 'i64.shl', 'get', 16, 'i64.add', 'get', 12, 'get', 8, 'i64.mul', 'i64.sub', 'set', 14],
  // low digit: q0 = un21 / dh, then corrected
  ...['get', 14, 'get', 10, 'i64.div_u', 'set', 15, 'get', 14, 'get', 15, 'get', 10, 'i64.mul', 'i64.sub', 'set', 13],
  ...['get', 7, 'lo32', 'set', 16],
  ...correct(15, 16),
  ...['i32.const', 0, 'get', 12, 'c64', 32, 'i64.shl', 'get', 15, 'i64.or', 'i64.store', 16],
  ...['i32.const', 0, 'get', 14, 'c64', 32, 'i64.shl', 'get', 16, 'i64.add', 'get', 15, 'get', 8, 'i64.mul', 'i64.sub', 'get', 9, 'i64.shr_u', 'i64.store', 24],
  'i32.const', 1,
];

/**
 * While the digit q (local) is 2^32 or more, or q * dl > rhat:next (next:
 * local n), decrease q and add dh to rhat, until rhat reaches 2^32.
 */
function correct(q: number, n: number): Op[] {
  return [
    'block', 'loop',
    ...['get', q, 'c64', 0xffffffff, 'i64.gt_u', 'if_i32', 'i32.const', 1, 'else'],
    ...['get', q, 'get', 11, 'i64.mul', 'get', 13, 'c64', 32, 'i64.shl', 'get', n, 'i64.or', 'i64.gt_u', 'end'],
    ...['i32.eqz', 'br_if', 1],
    ...['get', q, 'c64', 1, 'i64.sub', 'set', q, 'get', 13, 'get', 10, 'i64.add', 'tee', 13, 'c64', 0xffffffff, 'i64.le_u', 'br_if', 0],
    'end', 'end',
  ];
}

// ---- a small assembler ----------------------------------------------------------

const OPS: Record<string, number[]> = {
  'i32.const': [0x41], c64: [0x42], get: [0x20], set: [0x21], tee: [0x22],
  'i64.mul': [0x7e], 'i64.add': [0x7c], 'i64.sub': [0x7d], 'i64.div_u': [0x80], 'i64.rem_u': [0x82],
  'i64.shl': [0x86], 'i64.shr_u': [0x88], 'i64.or': [0x84], 'i64.clz': [0x79], 'i64.eqz': [0x50],
  'i64.gt_u': [0x56], 'i64.ge_u': [0x5a], 'i64.le_u': [0x58], 'i32.or': [0x72], 'i32.eqz': [0x45], 'i32.lt_s': [0x48],
  select: [0x1b], return: [0x0f], end: [0x0b], else: [0x05], br_if: [0x0d],
  if: [0x04, 0x40], if_i32: [0x04, 0x7f], block: [0x02, 0x40], loop: [0x03, 0x40],
  'i64.store': [0x37, 3], 'i64.load': [0x29, 3],
  // zero-extend an i32 to i64; keep an i64's low 32 bits
  u64: [0xad], lo32: [0x42, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x83],
};
/** Mnemonics followed by one LEB128 immediate (for the loads and stores: the offset). */
const IMM = new Set(['i32.const', 'c64', 'get', 'set', 'tee', 'br_if', 'i64.store', 'i64.load']);

function leb(v: number, signed: boolean): number[] {
  const out: number[] = [];
  let x = BigInt(v);
  for (;;) {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    const done = signed ? (x === 0n && !(b & 0x40)) || (x === -1n && b & 0x40) : x === 0n;
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

function code(ops: Op[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < ops.length; k++) {
    const m = ops[k] as string;
    const enc = OPS[m];
    if (enc === undefined) throw new Error(`wide-wasm: unknown op ${m}`);
    out.push(...enc);
    if (IMM.has(m)) out.push(...leb(ops[++k] as number, m === 'i32.const' || m === 'c64'));
  }
  return out;
}

const vec = (items: number[][]): number[] => [...leb(items.length, false), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length, false), ...body];
const I32 = 0x7f;
const I64 = 0x7e;

function assemble(): Uint8Array {
  const fns: { name: string; type: number; locals: number; body: Op[] }[] = [
    { name: 'mul64', type: 0, locals: 4, body: MUL64 },
    { name: 'imul64', type: 0, locals: 4, body: IMUL64 },
    { name: 'divU', type: 1, locals: 11, body: DIVU },
  ];
  const types = [
    [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32]]), 1, I32],
  ];
  const bodies = fns.map((f) => {
    const b = [...vec([[...leb(f.locals, false), I64]]), ...code(f.body), 0x0b];
    return [...leb(b.length, false), ...b];
  });
  const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(fns.map((f) => [f.type]))),
    ...section(5, vec([[0x01, 1, 1]])),
    ...section(7, vec([[...name('m'), 0x02, 0], ...fns.map((f, k) => [...name(f.name), 0x00, k])])),
    ...section(10, vec(bodies)),
  ]);
}

// (the project's type libraries have no WebAssembly: the little used here)
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

type Exports = {
  m: { buffer: ArrayBuffer };
  mul64(aL: number, aH: number, bL: number, bH: number): void;
  imul64(aL: number, aH: number, bL: number, bH: number): void;
  divU(n0: number, n1: number, n2: number, n3: number, dL: number, dH: number): number;
};

export const WIDE = new WebAssembly.Instance(new WebAssembly.Module(assemble())).exports as unknown as Exports;
