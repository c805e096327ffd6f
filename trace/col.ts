/**
 * Growable typed-array columns for BatchBuilder. Appending to a typed array
 * is several times cheaper than pushing onto a JS array whose elements
 * change representation (uint32 halves above 2^31, negative deltas), and
 * protobufjs encodes a typed array like any other repeated field.
 * One class per element type keeps every `push` site monomorphic.
 */
const INITIAL = 256;

export class U32Col {
  buf = new Uint32Array(INITIAL);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) this.buf = grow(this.buf, new Uint32Array(this.n * 2));
    this.buf[this.n++] = v;
  }
  /** the pushed values (a view: valid until the next push) */
  view(): Uint32Array {
    return this.buf.subarray(0, this.n);
  }
}

export class I32Col {
  buf = new Int32Array(INITIAL);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) this.buf = grow(this.buf, new Int32Array(this.n * 2));
    this.buf[this.n++] = v;
  }
  view(): Int32Array {
    return this.buf.subarray(0, this.n);
  }
}

/** Doubles: 64-bit times, counts and deltas (all below 2^53 in magnitude). */
export class F64Col {
  buf = new Float64Array(INITIAL);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) this.buf = grow(this.buf, new Float64Array(this.n * 2));
    this.buf[this.n++] = v;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.n);
  }
}

function grow<T extends Uint32Array | Int32Array | Float64Array>(old: T, bigger: T): T {
  bigger.set(old);
  return bigger;
}

/** The columns with one row per event, grown together: one capacity check per event. */
export class EventRows {
  n = 0;
  kind: Uint32Array;
  timeDelta: Float64Array;
  dom: Uint32Array;
  vcpu: Int32Array;
  icountDelta: Float64Array;
  ripDelta: Float64Array;
  stackId: Uint32Array;

  constructor(capacity: number) {
    this.kind = new Uint32Array(capacity);
    this.timeDelta = new Float64Array(capacity);
    this.dom = new Uint32Array(capacity);
    this.vcpu = new Int32Array(capacity);
    this.icountDelta = new Float64Array(capacity);
    this.ripDelta = new Float64Array(capacity);
    this.stackId = new Uint32Array(capacity);
  }

  /** The index of a new row. */
  next(): number {
    if (this.n === this.kind.length) this.grow(Math.max(16, this.n * 2));
    return this.n++;
  }

  private grow(cap: number): void {
    this.kind = grow(this.kind, new Uint32Array(cap));
    this.timeDelta = grow(this.timeDelta, new Float64Array(cap));
    this.dom = grow(this.dom, new Uint32Array(cap));
    this.vcpu = grow(this.vcpu, new Int32Array(cap));
    this.icountDelta = grow(this.icountDelta, new Float64Array(cap));
    this.ripDelta = grow(this.ripDelta, new Float64Array(cap));
    this.stackId = grow(this.stackId, new Uint32Array(cap));
  }

  /** The filled rows, by EventBatch field name. */
  views(): Record<string, Uint32Array | Int32Array | Float64Array> {
    const n = this.n;
    return {
      kind: this.kind.subarray(0, n), timeDelta: this.timeDelta.subarray(0, n), dom: this.dom.subarray(0, n), vcpu: this.vcpu.subarray(0, n),
      icountDelta: this.icountDelta.subarray(0, n), ripDelta: this.ripDelta.subarray(0, n), stackId: this.stackId.subarray(0, n),
    };
  }
}

export type AnyCol = U32Col | I32Col | F64Col;

/** Replace every column in a (nested) record of columns by its view, for encoding. */
export function views(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) {
    const v = o[k];
    out[k] = v instanceof U32Col || v instanceof I32Col || v instanceof F64Col ? v.view() : v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) ? views(v as Record<string, unknown>) : v;
  }
  return out;
}
