/**
 * Valid 0F-map instructions the core does not implement, so a guest that
 * uses them stops the run with their name instead of taking a #UD no real
 * CPU would raise: SSE/SSE2 floating-point arithmetic, compares and
 * conversions (to be supplied by the FP library: give an entry a handler
 * and drop its `unimpl`), MMX (mm registers), and SSE3. Each first makes
 * its class's CR0/CR4 checks (#UD, #NM), which are architectural.
 */
import { opUnimplMmx, opUnimplSse } from '../decode-ext.js';
import { NP, type OpEntry, type Pfx } from '../optable.js';

const FP = 'SSE floating point';
const fp = (code: number, pfx: Pfx, mn: string, ops: string): OpEntry => ({ code, map: 1, pfx, mn, ops, fn: opUnimplSse, unimpl: FP });
const sse3 = (code: number, pfx: Pfx, mn: string, ops: string, more: Partial<OpEntry> = {}): OpEntry => ({ code, map: 1, pfx, mn, ops, fn: opUnimplSse, unimpl: 'SSE3', ...more });
const mmx = (code: number, mn: string, ops: string, more: Partial<OpEntry> = {}): OpEntry => ({ code, map: 1, pfx: NP, mn, ops, fn: opUnimplMmx, unimpl: 'MMX', ...more });

/** ps/pd/ss/sd quadruples of the arithmetic rows. */
function arith(code: number, name: string, packedOnly = false): OpEntry[] {
  const out = [fp(code, NP, `${name}ps`, 'Vx,Wx'), fp(code, 0xf3, `${name}ss`, 'Vss,Wss')];
  if (!packedOnly) out.push(fp(code, 0x66, `${name}pd`, 'Vx,Wx'), fp(code, 0xf2, `${name}sd`, 'Vsd,Wsd'));
  return out;
}

/** The MMX forms (no prefix, mm registers) of the 0F 60-7F and D0-FF integer rows. */
const MMX_ROWS: Array<[number, string]> = [
  [0x60, 'punpcklbw'], [0x61, 'punpcklwd'], [0x62, 'punpckldq'], [0x63, 'packsswb'], [0x64, 'pcmpgtb'], [0x65, 'pcmpgtw'],
  [0x66, 'pcmpgtd'], [0x67, 'packuswb'], [0x68, 'punpckhbw'], [0x69, 'punpckhwd'], [0x6a, 'punpckhdq'], [0x6b, 'packssdw'],
  [0x74, 'pcmpeqb'], [0x75, 'pcmpeqw'], [0x76, 'pcmpeqd'], [0xd1, 'psrlw'], [0xd2, 'psrld'], [0xd3, 'psrlq'], [0xd4, 'paddq'],
  [0xd5, 'pmullw'], [0xd8, 'psubusb'], [0xd9, 'psubusw'], [0xda, 'pminub'], [0xdb, 'pand'], [0xdc, 'paddusb'], [0xdd, 'paddusw'],
  [0xde, 'pmaxub'], [0xdf, 'pandn'], [0xe0, 'pavgb'], [0xe1, 'psraw'], [0xe2, 'psrad'], [0xe3, 'pavgw'], [0xe4, 'pmulhuw'],
  [0xe5, 'pmulhw'], [0xe8, 'psubsb'], [0xe9, 'psubsw'], [0xea, 'pminsw'], [0xeb, 'por'], [0xec, 'paddsb'], [0xed, 'paddsw'],
  [0xee, 'pmaxsw'], [0xef, 'pxor'], [0xf1, 'psllw'], [0xf2, 'pslld'], [0xf3, 'psllq'], [0xf4, 'pmuludq'], [0xf5, 'pmaddwd'],
  [0xf6, 'psadbw'], [0xf8, 'psubb'], [0xf9, 'psubw'], [0xfa, 'psubd'], [0xfb, 'psubq'], [0xfc, 'paddb'], [0xfd, 'paddw'], [0xfe, 'paddd'],
];

export const SSE_UNIMPL_OPS: OpEntry[] = [
  fp(0x2a, 0xf3, 'cvtsi2ss', 'Vss,Ey'), fp(0x2a, 0xf2, 'cvtsi2sd', 'Vsd,Ey'),
  fp(0x2c, 0xf3, 'cvttss2si', 'Gy,Wss'), fp(0x2c, 0xf2, 'cvttsd2si', 'Gy,Wsd'),
  fp(0x2d, 0xf3, 'cvtss2si', 'Gy,Wss'), fp(0x2d, 0xf2, 'cvtsd2si', 'Gy,Wsd'),
  fp(0x2e, NP, 'ucomiss', 'Vss,Wss'), fp(0x2e, 0x66, 'ucomisd', 'Vsd,Wsd'),
  fp(0x2f, NP, 'comiss', 'Vss,Wss'), fp(0x2f, 0x66, 'comisd', 'Vsd,Wsd'),
  ...arith(0x51, 'sqrt'), ...arith(0x52, 'rsqrt', true), ...arith(0x53, 'rcp', true),
  ...arith(0x58, 'add'), ...arith(0x59, 'mul'), ...arith(0x5c, 'sub'), ...arith(0x5d, 'min'), ...arith(0x5e, 'div'), ...arith(0x5f, 'max'),
  fp(0x5a, NP, 'cvtps2pd', 'Vx,Wq'), fp(0x5a, 0x66, 'cvtpd2ps', 'Vx,Wx'), fp(0x5a, 0xf3, 'cvtss2sd', 'Vsd,Wss'), fp(0x5a, 0xf2, 'cvtsd2ss', 'Vss,Wsd'),
  fp(0x5b, NP, 'cvtdq2ps', 'Vx,Wx'), fp(0x5b, 0x66, 'cvtps2dq', 'Vx,Wx'), fp(0x5b, 0xf3, 'cvttps2dq', 'Vx,Wx'),
  fp(0xc2, NP, 'cmpps', 'Vx,Wx,Ib'), fp(0xc2, 0x66, 'cmppd', 'Vx,Wx,Ib'), fp(0xc2, 0xf3, 'cmpss', 'Vss,Wss,Ib'), fp(0xc2, 0xf2, 'cmpsd', 'Vsd,Wsd,Ib'),
  fp(0xe6, 0x66, 'cvttpd2dq', 'Vx,Wx'), fp(0xe6, 0xf3, 'cvtdq2pd', 'Vx,Wq'), fp(0xe6, 0xf2, 'cvtpd2dq', 'Vx,Wx'),
  // SSE3
  sse3(0x12, 0xf2, 'movddup', 'Vx,Wq'), sse3(0x12, 0xf3, 'movsldup', 'Vx,Wx'), sse3(0x16, 0xf3, 'movshdup', 'Vx,Wx'),
  sse3(0x7c, 0x66, 'haddpd', 'Vx,Wx'), sse3(0x7c, 0xf2, 'haddps', 'Vx,Wx'), sse3(0x7d, 0x66, 'hsubpd', 'Vx,Wx'), sse3(0x7d, 0xf2, 'hsubps', 'Vx,Wx'),
  sse3(0xd0, 0x66, 'addsubpd', 'Vx,Wx'), sse3(0xd0, 0xf2, 'addsubps', 'Vx,Wx'), sse3(0xf0, 0xf2, 'lddqu', 'Vx,Mx', { mod: 'mem' }),
  // MMX, and the conversions between MMX and XMM registers
  ...MMX_ROWS.map(([code, mn]) => mmx(code, mn, 'Pq,Qq')),
  mmx(0x6e, 'movd', 'Pq,Ey'), mmx(0x6f, 'movq', 'Pq,Qq'), mmx(0x7e, 'movd', 'Ey,Pq'), mmx(0x7f, 'movq', 'Qq,Pq'),
  mmx(0x70, 'pshufw', 'Pq,Qq,Ib'), mmx(0x77, 'emms', ''), mmx(0xc4, 'pinsrw', 'Pq,Ed,Ib'), mmx(0xc5, 'pextrw', 'Gd,Nq,Ib', { mod: 'reg' }),
  mmx(0xd7, 'pmovmskb', 'Gd,Nq', { mod: 'reg' }), mmx(0xe7, 'movntq', 'Mq,Pq', { mod: 'mem' }), mmx(0xf7, 'maskmovq', 'Pq,Nq', { mod: 'reg' }),
  ...([[0x71, 2, 'psrlw'], [0x71, 4, 'psraw'], [0x71, 6, 'psllw'], [0x72, 2, 'psrld'], [0x72, 4, 'psrad'], [0x72, 6, 'pslld'],
    [0x73, 2, 'psrlq'], [0x73, 6, 'psllq']] as const).map(([code, ext, mn]) => mmx(code, mn, 'Nq,Ib', { mod: 'reg', ext })),
  mmx(0x2a, 'cvtpi2ps', 'Vx,Qq'), mmx(0x2c, 'cvttps2pi', 'Pq,Wq'), mmx(0x2d, 'cvtps2pi', 'Pq,Wq'),
  { ...mmx(0x2a, 'cvtpi2pd', 'Vx,Qq'), pfx: 0x66 }, { ...mmx(0x2c, 'cvttpd2pi', 'Pq,Wx'), pfx: 0x66 }, { ...mmx(0x2d, 'cvtpd2pi', 'Pq,Wx'), pfx: 0x66 },
  { ...mmx(0xd6, 'movq2dq', 'Vx,Nq', { mod: 'reg' }), pfx: 0xf3 }, { ...mmx(0xd6, 'movdq2q', 'Pq,Uq', { mod: 'reg' }), pfx: 0xf2 },
];
