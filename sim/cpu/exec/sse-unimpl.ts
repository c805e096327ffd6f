/**
 * Valid 0F-map instructions the core does not implement, so a guest that
 * uses them stops the run with their name instead of taking a #UD no real
 * CPU would raise: the SSE reciprocal approximations, MMX (mm registers,
 * and the MMX-operand conversions cvtpi2ps...), and SSE3. Each first makes
 * its class's CR0/CR4 checks (#UD, #NM), which are architectural.
 *
 * rcpps/rcpss/rsqrtps/rsqrtss: the manuals only bound their relative error
 * (|error| <= 1.5 * 2^-12), and Intel and AMD parts return different
 * values for the same input; no model can match both hosts, and a guest
 * that relies on the exact bits of one vendor could not be replayed on the
 * other's results. gcc emits them only with -ffast-math (-mrecip).
 */
import { opUnimplMmx, opUnimplSse } from '../decode-ext.js';
import { NP, type OpEntry, type Pfx } from '../optable.js';

const APPROX = 'SSE reciprocal approximation (Intel and AMD results differ)';
const approx = (code: number, pfx: Pfx, mn: string, ops: string): OpEntry => ({ code, map: 1, pfx, mn, ops, fn: opUnimplSse, unimpl: APPROX });
const sse3 = (code: number, pfx: Pfx, mn: string, ops: string, more: Partial<OpEntry> = {}): OpEntry => ({ code, map: 1, pfx, mn, ops, fn: opUnimplSse, unimpl: 'SSE3', ...more });
const mmx = (code: number, mn: string, ops: string, more: Partial<OpEntry> = {}): OpEntry => ({ code, map: 1, pfx: NP, mn, ops, fn: opUnimplMmx, unimpl: 'MMX', ...more });

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
  approx(0x52, NP, 'rsqrtps', 'Vx,Wx'), approx(0x52, 0xf3, 'rsqrtss', 'Vss,Wss'),
  approx(0x53, NP, 'rcpps', 'Vx,Wx'), approx(0x53, 0xf3, 'rcpss', 'Vss,Wss'),
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
