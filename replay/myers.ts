/**
 * Myers' O(ND) difference algorithm, linear-space variant (Myers 1986,
 * section 4b): find the middle snake of the shortest edit script by running
 * the greedy search forwards from the start and backwards from the end until
 * they overlap, then solve the two halves the same way.
 *
 * Sequences are integer ids (equal id = equal element). The result is a list
 * of runs: EQ (n elements of both), DEL (n elements only in `a`), INS (n
 * elements only in `b`), in order, adjacent runs of the same op merged.
 *
 * Cost bound: a middle-snake search that exceeds `costLimit` edit steps
 * gives up on minimality and splits at its furthest-reaching forward point
 * (GNU diff's "too expensive" heuristic). The script stays valid, and the
 * time is O((N+M) * costLimit) instead of O((N+M) * D) when both sequences
 * are very different.
 */

export const EQ = 0;
export const DEL = 1;
export const INS = 2;
export type EditOp = typeof EQ | typeof DEL | typeof INS;
export type Edit = { op: EditOp; n: number };

export function myers(a: ArrayLike<number>, b: ArrayLike<number>, costLimit = 1024): Edit[] {
  const out: Edit[] = [];
  const emit = (op: EditOp, n: number): void => {
    if (n <= 0) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.op === op) last.n += n;
    else out.push({ op, n });
  };
  const max = a.length + b.length + 2;
  const vf = new Int32Array(2 * max + 2);
  const vb = new Int32Array(2 * max + 2);
  // Explicit work stack (no recursion depth limit): ranges to solve, and
  // equal runs to emit between them. Pushed in reverse order.
  type Task = { aLo: number; aHi: number; bLo: number; bHi: number } | { eq: number };
  const stack: Task[] = [{ aLo: 0, aHi: a.length, bLo: 0, bHi: b.length }];
  const split: [number, number, number, number] = [0, 0, 0, 0];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if ('eq' in t) {
      emit(EQ, t.eq);
      continue;
    }
    let { aLo, aHi, bLo, bHi } = t;
    let pre = 0;
    while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) aLo++, bLo++, pre++;
    let post = 0;
    while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) aHi--, bHi--, post++;
    emit(EQ, pre);
    if (aLo === aHi || bLo === bHi) {
      emit(DEL, aHi - aLo);
      emit(INS, bHi - bLo);
      emit(EQ, post);
      continue;
    }
    middleSnake(a, aLo, aHi, b, bLo, bHi, vf, vb, max, costLimit, split);
    const [x, y, u, v] = split;
    // Solved later, in this order: left half, the snake, right half, the trimmed suffix.
    stack.push({ eq: post }, { aLo: aLo + u, aHi, bLo: bLo + v, bHi }, { eq: u - x }, { aLo, aHi: aLo + x, bLo, bHi: bLo + y });
  }
  return out;
}

/**
 * The middle snake of a[aLo..aHi) vs b[bLo..bHi) (both non-empty, first and
 * last elements differing): `out` = [x, y, u, v], relative coordinates, the
 * snake runs from (x, y) to (u, v) (possibly empty). Never (0,0)-(0,0) nor
 * ending at (n, m) with an empty snake, so both halves are strictly smaller.
 */
function middleSnake(
  a: ArrayLike<number>, aLo: number, aHi: number, b: ArrayLike<number>, bLo: number, bHi: number,
  vf: Int32Array, vb: Int32Array, off: number, costLimit: number, out: [number, number, number, number],
): void {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const delta = n - m;
  const odd = (delta & 1) !== 0;
  const dmax = (n + m + 1) >> 1;
  // vf[off+k]: furthest x on forward diagonal k (y = x - k). vb[off+k]:
  // furthest progress on diagonal k of the reversed problem (from (n, m)
  // backwards); reversed diagonal k is forward diagonal delta - k.
  // Unreached diagonals read as -1 (trimmed range edges rely on it).
  const span = dmax + 2;
  vf.fill(-1, off - span, off + span + 1);
  vb.fill(-1, off - span, off + span + 1);
  vf[off + 1] = 0;
  vb[off + 1] = 0;
  // Diagonals that ran off the grid narrow the range searched (lo/hi trims).
  let fLo = 0;
  let fHi = 0;
  let bLoTrim = 0;
  let bHiTrim = 0;
  for (let d = 0; d <= dmax; d++) {
    for (let k = -d + fLo; k <= d - fHi; k += 2) {
      let x = k === -d || (k !== d && vf[off + k - 1]! < vf[off + k + 1]!) ? vf[off + k + 1]! : vf[off + k - 1]! + 1;
      let y = x - k;
      const x0 = x;
      const y0 = y;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) x++, y++;
      vf[off + k] = x;
      if (x > n) fHi += 2;
      else if (y > m) fLo += 2;
      else if (odd) {
        const kr = delta - k;
        if (kr >= -(d - 1) && kr <= d - 1 && x + vb[off + kr]! >= n) {
          out[0] = x0;
          out[1] = y0;
          out[2] = x;
          out[3] = y;
          return;
        }
      }
    }
    for (let k = -d + bLoTrim; k <= d - bHiTrim; k += 2) {
      let x = k === -d || (k !== d && vb[off + k - 1]! < vb[off + k + 1]!) ? vb[off + k + 1]! : vb[off + k - 1]! + 1;
      let y = x - k;
      const x0 = x;
      const y0 = y;
      while (x < n && y < m && a[aHi - 1 - x] === b[bHi - 1 - y]) x++, y++;
      vb[off + k] = x;
      if (x > n) bHiTrim += 2;
      else if (y > m) bLoTrim += 2;
      else if (!odd) {
        const kf = delta - k;
        if (kf >= -d && kf <= d && x + vf[off + kf]! >= n) {
          out[0] = n - x;
          out[1] = m - y;
          out[2] = n - x0;
          out[3] = m - y0;
          return;
        }
      }
    }
    if (d >= costLimit) {
      // Too expensive: split at the forward point that got furthest (x + y).
      let best = -1;
      for (let k = -d + fLo; k <= d - fHi; k += 2) {
        const x = Math.min(vf[off + k]!, n);
        const y = x - k;
        if (y < 0 || y > m) continue;
        if (x + y > best && !(x === n && y === m)) {
          best = x + y;
          out[0] = out[2] = x;
          out[1] = out[3] = y;
        }
      }
      if (best > 0) return;
    }
  }
  // Unreachable for valid input (the searches overlap by d = dmax); stay safe.
  out[0] = out[2] = n;
  out[1] = out[3] = 0;
}
