/**
 * The value codec of machine snapshots: simulation state (numbers, strings,
 * booleans, null, bigints, byte arrays, arrays, Maps, Sets and plain
 * objects) to a JSON value and back, and a canonical text form.
 *
 * Encoding (every value survives a round trip with its type):
 * - number (finite), string, boolean, null: as themselves;
 * - bigint: {"$bigint": "0x1f"} (negative: "-0x1f");
 * - Uint8Array: {"$bytes": lowercase hex}, or when shorter (large, mostly
 *   zero tables) like the other typed arrays: {"$typed": {"t": "Int32Array",
 *   "n": length, "runs": [index, count, value, ...]}} (runs of equal
 *   non-zero elements, ascending; everything else is zero);
 * - undefined: {"$undefined": 1} (array holes and optional fields stay so);
 * - Array: an array; Map: {"$map": [[key, value], ...]} and Set:
 *   {"$set": [...]}, both in insertion order (which is simulation state:
 *   several loops iterate them);
 * - plain object: an object with its keys sorted; keys starting with "$"
 *   are refused (they would read back as tags).
 * Anything else (a class instance, a function, a non-finite number) throws
 * a SnapshotError naming the path: a field nobody taught the snapshot about
 * must fail loudly, never be skipped.
 *
 * Canonical: the same state gives the same text. Keys are sorted, Map/Set
 * order is the simulation's own, and nothing here depends on the host.
 */

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

export function fromHex(s: string, where: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new SnapshotError(`${where}: malformed hex bytes`);
  const b = new Uint8Array(s.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return b;
}

/** A 64-bit register as "0x" + 16 hex digits. */
export const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

export function parseBig(s: unknown, where: string): bigint {
  if (typeof s !== 'string' || !/^-?0x[0-9a-f]+$/.test(s)) throw new SnapshotError(`${where}: expected a hex integer, got ${JSON.stringify(s)}`);
  return s[0] === '-' ? -BigInt(s.slice(1)) : BigInt(s);
}

function isPlain(v: object): boolean {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

const TYPED = { Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float64Array } as const;
type TypedName = keyof typeof TYPED;
type Typed = InstanceType<(typeof TYPED)[TypedName]>;

function typedName(v: ArrayBufferView): TypedName | null {
  for (const [name, ctor] of Object.entries(TYPED)) if (Object.getPrototypeOf(v) === ctor.prototype) return name as TypedName;
  return null;
}

function encodeTyped(v: ArrayBufferView, where: string): Json {
  const t = typedName(v);
  if (t === null) throw new SnapshotError(`${where}: cannot snapshot a ${v.constructor.name}`);
  const a = v as Typed;
  const runs: number[] = [];
  for (let i = 0; i < a.length; ) {
    let j = i + 1;
    while (j < a.length && Object.is(a[j], a[i])) j++;
    if (!Number.isFinite(a[i])) throw new SnapshotError(`${where}[${i}]: cannot snapshot the number ${a[i]}`);
    if (!Object.is(a[i], 0)) runs.push(i, j - i, a[i]!);
    i = j;
  }
  if (t === 'Uint8Array' && 4 * runs.length >= 2 * a.length) return { $bytes: toHex(a as Uint8Array) };
  return { $typed: { n: a.length, runs, t } };
}

function decodeTyped(j: Json, where: string): Typed {
  const o = j !== null && typeof j === 'object' && !Array.isArray(j) ? j : {};
  const ctor = typeof o.t === 'string' && Object.hasOwn(TYPED, o.t) ? TYPED[o.t as TypedName] : null;
  const runs = o.runs;
  if (ctor === null || typeof o.n !== 'number' || !Array.isArray(runs) || runs.length % 3 !== 0) throw new SnapshotError(`${where}: malformed $typed value`);
  const a = new ctor(o.n);
  for (let k = 0; k < runs.length; k += 3) {
    const [i, n, x] = [runs[k], runs[k + 1], runs[k + 2]];
    if (typeof i !== 'number' || typeof n !== 'number' || typeof x !== 'number' || i < 0 || n < 1 || i + n > o.n) {
      throw new SnapshotError(`${where}: malformed $typed run ${k / 3}`);
    }
    a.fill(x, i, i + n);
  }
  return a;
}

/** Simulation value -> JSON value (see the file comment). */
export function encodeValue(v: unknown, where: string): Json {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new SnapshotError(`${where}: cannot snapshot the number ${v}`);
      return v;
    case 'string':
    case 'boolean':
      return v;
    case 'bigint':
      return { $bigint: v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}` };
    case 'undefined':
      return { $undefined: 1 };
    case 'object': {
      if (v === null) return null;
      if (ArrayBuffer.isView(v)) return encodeTyped(v, where);
      if (Array.isArray(v)) {
        const out: Json[] = [];
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          // A finite number is itself (no path string built for it: a p2m has one per page).
          out.push(typeof x === 'number' && Number.isFinite(x) ? x : encodeValue(x, `${where}[${i}]`));
        }
        return out;
      }
      if (v instanceof Map) return { $map: [...v].map(([k, x], i) => [encodeValue(k, `${where}.key${i}`), encodeValue(x, `${where}.get(${String(k)})`)]) };
      if (v instanceof Set) return { $set: [...v].map((x, i) => encodeValue(x, `${where}.item${i}`)) };
      if (isPlain(v)) {
        const out: { [k: string]: Json } = {};
        for (const k of Object.keys(v).sort()) {
          if (k.startsWith('$')) throw new SnapshotError(`${where}.${k}: keys starting with $ are reserved`);
          out[k] = encodeValue((v as Record<string, unknown>)[k], `${where}.${k}`);
        }
        return out;
      }
      throw new SnapshotError(`${where}: cannot snapshot a ${(v as object).constructor?.name ?? 'object'}`);
    }
    default:
      throw new SnapshotError(`${where}: cannot snapshot a ${typeof v}`);
  }
}

/** JSON value -> simulation value (inverse of encodeValue). */
export function decodeValue(j: Json, where: string): unknown {
  if (j === null || typeof j !== 'object') return j;
  if (Array.isArray(j)) return j.map((x, i) => decodeValue(x, `${where}[${i}]`));
  const keys = Object.keys(j);
  if (keys.length === 1 && keys[0]!.startsWith('$')) {
    const t = j[keys[0]!]!;
    switch (keys[0]) {
      case '$bigint':
        return parseBig(t, where);
      case '$bytes':
        if (typeof t !== 'string') break;
        return fromHex(t, where);
      case '$typed':
        return decodeTyped(t, where);
      case '$undefined':
        return undefined;
      case '$map':
        if (!Array.isArray(t)) break;
        return new Map(t.map((e, i) => {
          if (!Array.isArray(e) || e.length !== 2) throw new SnapshotError(`${where}: malformed map entry ${i}`);
          return [decodeValue(e[0]!, `${where}.key${i}`), decodeValue(e[1]!, `${where}.value${i}`)];
        }));
      case '$set':
        if (!Array.isArray(t)) break;
        return new Set(t.map((x, i) => decodeValue(x, `${where}.item${i}`)));
    }
    throw new SnapshotError(`${where}: malformed ${keys[0]} value`);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = decodeValue(j[k]!, `${where}.${k}`);
  return out;
}

/**
 * Write the decoded snapshot value `v` into field `k` of a live object.
 * Containers (typed arrays, arrays, Maps, Sets) are refilled in place, because readonly
 * fields and other holders may keep a reference to them; anything else is
 * assigned.
 */
export function refill(target: Record<string, unknown>, k: string, v: unknown, where: string): void {
  const cur = target[k];
  if (ArrayBuffer.isView(cur)) {
    const c = cur as Typed;
    if (!ArrayBuffer.isView(v) || Object.getPrototypeOf(v) !== Object.getPrototypeOf(c) || (v as Typed).length !== c.length) {
      throw new SnapshotError(`${where}: expected a ${c.constructor.name} of ${c.length} elements`);
    }
    c.set(v as never);
  } else if (Array.isArray(cur)) {
    if (!Array.isArray(v)) throw new SnapshotError(`${where}: expected an array`);
    cur.length = 0;
    for (const x of v) cur.push(x);
  } else if (cur instanceof Map) {
    if (!(v instanceof Map)) throw new SnapshotError(`${where}: expected a map`);
    cur.clear();
    for (const [a, b] of v) cur.set(a, b);
  } else if (cur instanceof Set) {
    if (!(v instanceof Set)) throw new SnapshotError(`${where}: expected a set`);
    cur.clear();
    for (const a of v) cur.add(a);
  } else target[k] = v;
}
