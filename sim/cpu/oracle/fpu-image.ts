/**
 * The x87/SSE state of an oracle case or result (OracleFpu), and its wire
 * form to and from native-runner.c: bytes 0-415 of an FXSAVE64 image (the
 * runner loads it with fxrstor64 and saves the final state with fxsave64,
 * or takes it from the signal frame on a fault).
 */

/** x87/SSE state. `st` in stack order (ST(0) first, 80-bit values); `ftw` abridged (bit i: physical register i in use). */
export type OracleFpu = {
  fcw: number;
  fsw: number;
  ftw: number;
  fop: number;
  fip: bigint;
  fdp: bigint;
  mxcsr: number;
  /** results only: the MXCSR_MASK the CPU reports (inputs ignore it) */
  mxcsrMask?: number;
  st: bigint[];
  xmm: bigint[];
};

export const FPU_IMAGE_BYTES = 416;

const M128 = (1n << 128n) - 1n;
const M80 = (1n << 80n) - 1n;

function putLe(b: Uint8Array, at: number, v: bigint, n: number): void {
  for (let k = 0; k < n; k++) b[at + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}
function getLe(b: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[at + k]!);
  return v;
}

/** The FXSAVE64 image of `f` (416 bytes). */
export function fpuImage(f: OracleFpu): Uint8Array {
  const b = new Uint8Array(FPU_IMAGE_BYTES);
  putLe(b, 0, BigInt(f.fcw), 2);
  putLe(b, 2, BigInt(f.fsw), 2);
  b[4] = f.ftw & 0xff;
  putLe(b, 6, BigInt(f.fop & 0x7ff), 2);
  putLe(b, 8, f.fip, 8);
  putLe(b, 16, f.fdp, 8);
  putLe(b, 24, BigInt(f.mxcsr >>> 0), 4);
  f.st.forEach((v, i) => putLe(b, 32 + 16 * i, v & M80, 10));
  f.xmm.forEach((v, i) => putLe(b, 160 + 16 * i, v & M128, 16));
  return b;
}

export function parseFpuImage(b: Uint8Array): OracleFpu {
  return {
    fcw: Number(getLe(b, 0, 2)),
    fsw: Number(getLe(b, 2, 2)),
    ftw: b[4]!,
    fop: Number(getLe(b, 6, 2)),
    fip: getLe(b, 8, 8),
    fdp: getLe(b, 16, 8),
    mxcsr: Number(getLe(b, 24, 4)),
    mxcsrMask: Number(getLe(b, 28, 4)),
    st: Array.from({ length: 8 }, (_, i) => getLe(b, 32 + 16 * i, 10)),
    xmm: Array.from({ length: 16 }, (_, i) => getLe(b, 160 + 16 * i, 16)),
  };
}

export const fpuHex = (f: OracleFpu): string => Buffer.from(fpuImage(f)).toString('hex');
export const parseFpuHex = (h: string): OracleFpu => parseFpuImage(Uint8Array.from(Buffer.from(h, 'hex')));
