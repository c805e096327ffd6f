/**
 * The kernel's own symbol table (CONFIG_KALLSYMS), read out of a stripped
 * vmlinux: Debian ships its kernels stripped, and kallsyms is what Linux
 * itself prints `%pS` with.
 *
 * scripts/kallsyms.c writes these tables into .rodata, and nothing in a
 * stripped image points at them, so they are found by their structure:
 *
 * - kallsyms_token_table: 256 NUL-terminated strings; the bytes that stand
 *   for themselves stand at their own index, so "0\0" .. "9\0" are
 *   consecutive. kallsyms_token_index (256 u16 offsets into it) follows and
 *   confirms it.
 * - kallsyms_markers: u32 offsets into kallsyms_names of every 256th name,
 *   from 0, right before the token table, or before kallsyms_seqs_of_names
 *   (3 bytes a symbol; newer kernels, and 6.1 stable) when that is there.
 * - kallsyms_num_syms (u32), then kallsyms_names: per symbol a length (one
 *   byte, or two when the first has bit 7 set: 6.1+) and that many token
 *   indices, whose expansion is the nm type letter and the name.
 * - kallsyms_offsets (s32 per symbol) and kallsyms_relative_base (u64),
 *   before kallsyms_num_syms (or after the token index on newer kernels);
 *   with CONFIG_KALLSYMS_ABSOLUTE_PERCPU a non-negative offset is an
 *   absolute value (per-CPU symbols) and a negative one is
 *   relative_base - 1 - offset. Without base-relative tables it is
 *   kallsyms_addresses (u64 per symbol).
 *
 * Symbols are sorted by address, so every candidate reading is checked for
 * that before it is believed. Alignment between tables is 4 or 8 bytes.
 */
import { parseElf } from '../../sim/elf.js';

/** One symbol as nm prints it: address, type letter, name. */
export type NmSymbol = { addr: bigint; type: string; name: string };

const DIGITS = Buffer.from('0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00', 'latin1');
const MAX_SYMS = 1 << 21;

type Tokens = { table: number; index: number; tokens: string[] };

/**
 * The token table whose "0".."9" entries are at `digitsAt`: the strings
 * from "0" on end the table; the token index after it says where "0" is
 * from the table's start, and must give every string's offset.
 */
function tokensAt(b: Buffer, digitsAt: number): Tokens | null {
  let end = digitsAt;
  for (let k = 0x30; k < 256; k++) {
    const nul = b.indexOf(0, end);
    if (nul < 0 || nul - end > 64) return null;
    end = nul + 1;
  }
  for (let index = end; index < end + 8 && index + 512 <= b.length; index++) {
    const table = digitsAt - b.readUInt16LE(index + 2 * 0x30);
    if (table < 0 || b.readUInt16LE(index) !== 0) continue;
    const tokens: string[] = [];
    let p = table;
    for (let k = 0; k < 256 && p < end; k++) {
      if (b.readUInt16LE(index + 2 * k) !== p - table) break;
      const nul = b.indexOf(0, p);
      tokens.push(b.toString('latin1', p, nul));
      p = nul + 1;
    }
    if (tokens.length === 256 && p === end) return { table, index, tokens };
  }
  return null;
}

const align = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Parse `n` names from `at`; returns the end offset, or -1 if they do not fit before `limit`. */
function skipNames(b: Buffer, at: number, n: number, limit: number): number {
  for (let i = 0; i < n; i++) {
    if (at >= limit) return -1;
    let len = b[at++]!;
    if (len & 0x80) len = (len & 0x7f) | (b[at++]! << 7);
    if (len === 0) return -1;
    at += len;
  }
  return at <= limit ? at : -1;
}

type Names = { numSymsAt: number; names: number; count: number; end: number };

/**
 * The markers array ending at or before `before` (walking back over u32s
 * that decrease to 0), then kallsyms_num_syms and kallsyms_names behind it.
 */
function namesBefore(b: Buffer, before: number): Names | null {
  // The markers may be followed by 4 bytes of alignment (zero, like a lone first marker).
  return markersEndingAt(b, before) ?? markersEndingAt(b, before - 4);
}

function markersEndingAt(b: Buffer, end: number): Names | null {
  // Markers: u32, strictly increasing from 0 by at least one byte a name.
  const marks: number[] = [];
  let at = end - 4;
  for (let prev = Infinity; at >= 0; at -= 4) {
    const v = b.readUInt32LE(at);
    if (v >= prev || prev - v < 256) return null;
    marks.push(v);
    if (v === 0) break;
    prev = v;
  }
  if (at < 0) return null;
  marks.reverse();
  const m = marks.length;
  const markersAt = at;
  const lastMark = marks[m - 1]!;
  // kallsyms_num_syms then kallsyms_names: try every aligned start whose tail (from the last marker) ends right at the markers.
  const hi = markersAt - lastMark;
  for (let names = hi & ~3; names >= Math.max(8, hi - 256 * 256 - 8); names -= 4) {
    for (const gap of [4, 8]) {
      const count = b.readUInt32LE(names - gap);
      if (count <= 256 * (m - 1) || count > 256 * m) continue;
      const tail = skipNames(b, names + lastMark, count - 256 * (m - 1), markersAt);
      if (tail < 0 || align(tail, 4) !== markersAt && align(tail, 8) !== markersAt) continue;
      if (marks.every((mk, k) => k === 0 || skipNames(b, names + marks[k - 1]!, 256, markersAt) === names + mk)) {
        return { numSymsAt: names - gap, names, count, end: tail };
      }
    }
  }
  return null;
}

/** Addresses of the `n` symbols, from whichever table layout decodes to sorted addresses. */
function addresses(b: Buffer, t: Tokens, nm: Names): bigint[] | null {
  const n = nm.count;
  const sorted = (a: bigint[]): boolean => a.every((v, i) => i === 0 || a[i - 1]! <= v);
  const relative = (offsAt: number, baseAt: number): bigint[] | null => {
    if (offsAt < 0 || offsAt + 4 * n > b.length || baseAt + 8 > b.length) return null;
    const base = b.readBigUInt64LE(baseAt);
    // CONFIG_KALLSYMS_ABSOLUTE_PERCPU: only then are some offsets negative (all non-negative would mean no kernel symbol at all).
    if (Array.from({ length: n }, (_, i) => b.readInt32LE(offsAt + 4 * i)).some((o) => o < 0)) {
      const abs = Array.from({ length: n }, (_, i) => {
        const o = b.readInt32LE(offsAt + 4 * i);
        return o >= 0 ? BigInt(o) : (base - 1n - BigInt(o)) & 0xffffffffffffffffn;
      });
      if (sorted(abs)) return abs;
    }
    const rel = Array.from({ length: n }, (_, i) => (base + BigInt(b.readUInt32LE(offsAt + 4 * i))) & 0xffffffffffffffffn);
    return sorted(rel) ? rel : null;
  };
  // Older layout: kallsyms_offsets, kallsyms_relative_base, kallsyms_num_syms.
  for (const gap of [8, 16]) {
    const baseAt = nm.numSymsAt - gap;
    for (const pad of [0, 4]) {
      const r = relative(baseAt - pad - 4 * n, baseAt);
      if (r !== null) return r;
    }
  }
  // Newer layout: after the token index, kallsyms_offsets then kallsyms_relative_base.
  const offsAt = align(t.index + 512, 8);
  for (const a of [4, 8]) {
    const r = relative(offsAt, align(offsAt + 4 * n, a));
    if (r !== null) return r;
  }
  // No base-relative tables: kallsyms_addresses right before kallsyms_num_syms.
  for (const gap of [8, 16]) {
    const at = nm.numSymsAt - gap + 8 - 8 * n;
    if (at < 0) continue;
    const abs = Array.from({ length: n }, (_, i) => b.readBigUInt64LE(at + 8 * i));
    if (sorted(abs)) return abs;
  }
  return null;
}

/**
 * The symbols of a vmlinux's kallsyms tables, in kallsyms order (by address;
 * at one address, the name Linux itself prints first). Null when the image
 * holds no tables this reader recognises.
 */
export function readKallsyms(elf: Uint8Array): NmSymbol[] | null {
  const b = Buffer.from(elf.buffer, elf.byteOffset, elf.byteLength);
  let lo = 0;
  let hi = b.length;
  try {
    const ro = parseElf(elf).section('.rodata');
    if (ro !== undefined && ro.size > 0) [lo, hi] = [ro.offset, ro.offset + ro.size];
  } catch {
    // not an ELF: search it all
  }
  const area = b.subarray(0, hi);
  for (let at = area.indexOf(DIGITS, lo); at >= 0; at = area.indexOf(DIGITS, at + 1)) {
    const t = tokensAt(area, at);
    if (t === null) continue;
    // Markers end before the token table, or before kallsyms_seqs_of_names; the first reading whose addresses sort wins.
    const plain = namesBefore(area, t.table);
    const syms = (plain && symbolsOf(area, t, plain)) ?? namesWithSeqs(area, t);
    if (syms !== null) return syms;
  }
  return null;
}

/** The symbols `nm` and the address tables give, or null if no address table fits them. */
function symbolsOf(b: Buffer, t: Tokens, nm: Names): NmSymbol[] | null {
  const addrs = addresses(b, t, nm);
  if (addrs === null) return null;
  const out: NmSymbol[] = [];
  let p = nm.names;
  for (let i = 0; i < nm.count; i++) {
    let len = b[p++]!;
    if (len & 0x80) len = (len & 0x7f) | (b[p++]! << 7);
    let s = '';
    for (let k = 0; k < len; k++) s += t.tokens[b[p + k]!]!;
    p += len;
    out.push({ addr: addrs[i]!, type: s[0]!, name: s.slice(1) });
  }
  return out;
}

/**
 * Names and markers when kallsyms_seqs_of_names (3 bytes a symbol) sits
 * between the markers and the token table at `table`: for each count n,
 * the markers (ceil(n / 256) u32s from 0) end 3n bytes, plus up to 7 of
 * alignment, before it; the names behind them must say n.
 */
function namesWithSeqs(b: Buffer, t: Tokens): NmSymbol[] | null {
  for (let n = 1; n <= MAX_SYMS && 3 * n < t.table; n++) {
    const m = Math.ceil(n / 256);
    for (let pad = 0; pad < 8; pad++) {
      const end = t.table - pad - 3 * n;
      if ((end & 3) !== 0 || end - 4 * m < 8) continue;
      if (b.readUInt32LE(end - 4 * m) !== 0 || (m > 1 && b.readUInt32LE(end - 4 * m + 4) === 0)) continue;
      const nm = namesBefore(b, end);
      const syms = nm !== null && nm.count === n ? symbolsOf(b, t, nm) : null;
      if (syms !== null) return syms;
    }
  }
  return null;
}
