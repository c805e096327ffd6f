/**
 * Events <-> EventBatch columns. The encoder appends events to typed column
 * arrays (no per-event protobuf message); one protobuf encode per batch.
 * Decoding rebuilds the events exactly: times, instruction counts and RIPs
 * are deltas per vCPU and restart in every batch.
 *
 * Decoded hypercall arguments and ring slots are flattened to key/value
 * fields: nested records become "a.b", list items "a[0]".
 */
import type { Decoded, EventPos, SimEvent } from '../sim/events.js';
import { decodeBatch, u64, type TraceEvent } from './decode-batch.js';
import { EventRows, F64Col, I32Col, U32Col, views } from './col.js';
import { KIND_CODES, KIND_NAMES } from './schema.js';

/** An event's EventKind value (a switch: cheaper than a keyed lookup on a mix of kinds). */
function kindCode(e: SimEvent): number {
  switch (e.kind) {
    case 'hypercall': return KIND_CODES.hypercall;
    case 'evtchn_send': return KIND_CODES.evtchn_send;
    case 'evtchn_deliver': return KIND_CODES.evtchn_deliver;
    case 'sched': return KIND_CODES.sched;
    default: return KIND_CODES[e.kind];
  }
}

export { decodeBatch, type TraceEvent };

type Fields = { count: U32Col; keyStr: U32Col; type: U32Col; intValue: F64Col; u64Lo: U32Col; u64Hi: U32Col; strValue: U32Col; doubleValue: F64Col };
const fields = (): Fields => ({ count: new U32Col(), keyStr: new U32Col(), type: new U32Col(), intValue: new F64Col(), u64Lo: new U32Col(), u64Hi: new U32Col(), strValue: new U32Col(), doubleValue: new F64Col() });
/** Field value types of flattened decoded records. */
export const FT = { INT: 0, U64: 1, STRING: 2, BOOL: 3, DOUBLE: 4 } as const;
/** RIPs whose signed value is within +-2^52 go in rip_delta (their deltas are exact doubles); others are stored exactly. */
const NEAR_HI = 0x100000;
/** Scratch for splitting a 64-bit value into uint32 halves (little-endian host, as x86-64). */
const SPLIT = new BigUint64Array(1);
const SPLIT_32 = new Uint32Array(SPLIT.buffer);

/** The position of an event that came without one (tests, re-encoding), in a scratch object. */
const POS: EventPos = { seq: 0, time: 0, dom: 0, vcpu: 0, icount: 0, ripLo: 0, ripHi: 0, stack: undefined };
function posOf(e: SimEvent): EventPos {
  POS.seq = e.seq;
  POS.time = e.time;
  POS.dom = e.dom;
  POS.vcpu = e.vcpu;
  POS.icount = e.icount;
  SPLIT[0] = e.rip;
  POS.ripLo = SPLIT_32[0]!;
  POS.ripHi = SPLIT_32[1]!;
  POS.stack = e.stack;
  return POS;
}

/** One key per (dom, vCPU) for per-vCPU delta state; dom -1 is Xen itself. */
export const vkey = (dom: number, vcpu: number): number => dom * 64 + (vcpu + 1);

/** Column builder for one batch. */
export class BatchBuilder {
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  /** the per-event columns (kind, deltas, stack id) */
  private readonly rows: EventRows;
  /** per-vCPU last icount and RIP, and the last vCPU's (events come in runs per vCPU) */
  private readonly last = new Map<number, { icount: number; rip: number }>();
  private lastKey = -1;
  private lastPos: { icount: number; rip: number } | undefined = undefined;
  private readonly start: Array<{ dom: number; vcpu: number; icount: number; rip: number }> = [];
  private lastTime: number;
  /** the distinct stacks (rows hold their 1-based ids, 0 none) */
  private readonly stacks = { count: new U32Col(), lo: new U32Col(), hi: new U32Col() };
  private readonly stackIds = new Map<bigint, Array<{ stack: bigint[]; id: number }>>();
  private readonly stackByRef = new Map<bigint[], number>();
  private lastStack: bigint[] | undefined = undefined;
  private lastStackId = 0;
  private readonly hc = { op: new U32Col(), sub: new I32Col(), nameStr: new U32Col(), subNameStr: new U32Col(), result: new F64Col(), argLo: new U32Col(), argHi: new U32Col(), decoded: fields(), callerLo: new U32Col(), callerHi: new U32Col() };
  private readonly ev = { port: new U32Col(), toDom: new I32Col(), toPort: new I32Col(), virq: new I32Col(), masked: [] as boolean[] };
  /** whether any send of this batch was masked (the column is written only then) */
  private anyMasked = false;
  private readonly dl = { nports: new U32Col(), ports: new U32Col() };
  private readonly ex = { vector: new U32Col(), errorCode: new U32Col(), cr2Lo: new U32Col(), cr2Hi: new U32Col(), bounced: [] as boolean[], handlerLo: new U32Col(), handlerHi: new U32Col() };
  private readonly tm = { deadline: new F64Col() };
  private readonly sc = { whatStr: new U32Col(), until: new F64Col(), rings: fields() };
  private anySchedRings = false;
  private readonly text = { console: { sourceStr: new U32Col(), text: [] as Uint8Array[] }, input: { sourceStr: new U32Col(), text: [] as Uint8Array[] }, milestone: { sourceStr: new U32Col(), text: [] as Uint8Array[] } };
  private readonly xs = { opStr: new U32Col(), txId: new U32Col(), pathStr: new U32Col(), value: [] as Uint8Array[], resultStr: new U32Col() };
  private readonly rg = { ringKindStr: new U32Col(), frontDom: new U32Col(), backDom: new U32Col(), gref: new U32Col(), port: new U32Col(), reqProdBefore: new U32Col(), reqProdAfter: new U32Col(), rspProdBefore: new U32Col(), rspProdAfter: new U32Col(), reqCons: new U32Col(), rspCons: new U32Col(), slots: fields(), seenStr: new U32Col(), entries: new U32Col() };
  private readonly gr = { entries: fields() };
  private readonly ds = { stateStr: new U32Col(), reasonStr: new U32Col() };
  private readonly net = { bridgeStr: new U32Col(), srcStr: new U32Col(), dstStr: new U32Col(), frame: [] as Uint8Array[] };
  /** values that do not fit their column: the events (batch index) and their exact fields */
  private readonly exactEvent = new U32Col();
  private readonly exact = fields();
  /** approximate encoded size, to bound batches */
  bytes = 0;

  /** `capacity`: events expected (the rows grow past it, at a copy). */
  constructor(readonly firstSeq: number, readonly firstTime: number, capacity = 64) {
    this.lastTime = firstTime;
    this.rows = new EventRows(capacity);
  }

  get count(): number {
    return this.rows.n;
  }

  private str(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
      this.bytes += s.length + 2;
    }
    return id;
  }

  /** Append the two uint32 halves of a 64-bit value (wrapped modulo 2^64). */
  private put64(lo: U32Col, hi: U32Col, v: bigint): void {
    if (v === 0n) {
      lo.push(0);
      hi.push(0);
      return;
    }
    SPLIT[0] = v;
    lo.push(SPLIT_32[0]!);
    hi.push(SPLIT_32[1]!);
  }

  private putFields(f: Fields, d: Decoded, prefix = ''): number {
    let n = 0;
    for (const k in d) {
      const v = d[k]!;
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (typeof item === 'object') n += this.putFields(f, item as Decoded, `${key}[${i}]`);
          else n += this.putValue(f, `${key}[${i}]`, item);
        });
      } else if (typeof v === 'object') n += this.putFields(f, v, key);
      else n += this.putValue(f, key, v);
    }
    return n;
  }

  /** The current event's field `key` is `v`, which its column cannot hold (the column got a placeholder). */
  private exactly(key: string, v: number | bigint): void {
    const i = this.rows.n - 1;
    const ev = this.exactEvent;
    const count = this.exact.count;
    if (ev.n === 0 || ev.buf[ev.n - 1] !== i) {
      ev.push(i);
      count.push(0);
    }
    count.buf[count.n - 1]! += this.putValue(this.exact, key, v);
  }

  // Pushes onto number columns of each wire type; a value the type cannot hold goes to `exact`.
  private u32(col: U32Col, key: string, v: number): void {
    if (v >>> 0 === v) return col.push(v);
    col.push(0);
    this.exactly(key, v);
  }

  private i32(col: I32Col, key: string, v: number): void {
    if ((v | 0) === v) return col.push(v);
    col.push(0);
    this.exactly(key, v);
  }

  /** sint64 (`unsigned`: uint64) columns held as doubles: integers below 2^53. */
  private i53(col: F64Col, key: string, v: number, unsigned = false): void {
    if (Number.isSafeInteger(v) && (!unsigned || v >= 0)) return col.push(v);
    col.push(0);
    this.exactly(key, v);
  }

  private putValue(f: Fields, key: string, v: number | bigint | string | boolean): number {
    f.keyStr.push(this.str(key));
    if (typeof v === 'boolean') {
      f.type.push(FT.BOOL);
      f.intValue.push(v ? 1 : 0);
    } else if (typeof v === 'string') {
      f.type.push(FT.STRING);
      f.strValue.push(this.str(v));
    } else if (typeof v === 'bigint') {
      f.type.push(FT.U64);
      this.put64(f.u64Lo, f.u64Hi, v);
    } else if (Number.isSafeInteger(v)) {
      f.type.push(FT.INT);
      f.intValue.push(v);
    } else {
      f.type.push(FT.DOUBLE);
      f.doubleValue.push(v);
    }
    this.bytes += 4;
    return 1;
  }

  /** The id of a stack in this batch's table: events of one hypercall share an array, others compare by value. */
  private stackIdOf(st: bigint[]): number {
    if (st.length === 0) return 0;
    if (st === this.lastStack) return this.lastStackId;
    const known = this.stackByRef.get(st);
    if (known !== undefined) {
      this.lastStack = st;
      return (this.lastStackId = known);
    }
    let list = this.stackIds.get(st[0]!);
    if (list === undefined) this.stackIds.set(st[0]!, (list = []));
    let id = list.find((c) => c.stack.length === st.length && c.stack.every((x, i) => x === st[i]))?.id;
    if (id === undefined) {
      id = this.stacks.count.n + 1;
      list.push({ stack: st, id });
      this.stacks.count.push(st.length);
      for (const x of st) this.put64(this.stacks.lo, this.stacks.hi, x);
      this.bytes += 8 * st.length;
    }
    this.stackByRef.set(st, id);
    this.lastStack = st;
    this.lastStackId = id;
    return id;
  }

  /** events per kind code, and hypercalls per name (by string id), in this batch */
  private readonly kindCounts = new Uint32Array(KIND_NAMES.length + 1);
  private readonly hcNameCounts: number[] = [];

  /** Counts by kind name and by hypercall name, in kind-code and first-seen order. */
  counts(): { byKind: Array<[string, number]>; byHypercall: Array<[string, number]> } {
    const byKind: Array<[string, number]> = [];
    this.kindCounts.forEach((n, code) => {
      if (n > 0) byKind.push([KIND_NAMES[code]!, n]);
    });
    const byHypercall: Array<[string, number]> = [];
    this.hcNameCounts.forEach((n, id) => {
      if (n > 0) byHypercall.push([this.strings[id]!, n]);
    });
    return { byKind, byHypercall };
  }

  /** Append an event; `pos` (the machine's stamp of it) saves reading the event's own fields. */
  add(e: SimEvent, pos: EventPos = posOf(e)): void {
    const code = kindCode(e);
    this.kindCounts[code] = this.kindCounts[code]! + 1;
    const r = this.rows;
    const i = r.next();
    r.kind[i] = code;
    r.stackId[i] = pos.stack === undefined ? 0 : this.stackIdOf(pos.stack);
    const time = pos.time;
    r.timeDelta[i] = time - this.lastTime;
    this.lastTime = time;
    const vcpu = pos.vcpu;
    const dom = pos.dom < 0 ? 0x7fff : pos.dom;
    r.dom[i] = dom;
    r.vcpu[i] = vcpu;
    // A RIP as a signed 64-bit number: canonical ones (and any within
    // +-2^52) are exact doubles whose deltas are exact too. Any other value
    // a guest can produce (a non-canonical RIP far from zero) is stored
    // exactly, with delta 0, and leaves the vCPU's delta base where it was.
    const hi = pos.ripHi | 0;
    const near = hi < NEAR_HI && hi >= -NEAR_HI;
    const rip = near ? hi * 4294967296 + (pos.ripLo >>> 0) : 0;
    const icount = pos.icount;
    const k = vkey(pos.dom, vcpu);
    let prev = k === this.lastKey ? this.lastPos : this.last.get(k);
    if (prev === undefined) {
      this.start.push({ dom, vcpu, icount, rip: 0 });
      this.last.set(k, (prev = { icount, rip }));
      r.icountDelta[i] = 0;
      r.ripDelta[i] = rip;
    } else {
      r.icountDelta[i] = icount - prev.icount;
      prev.icount = icount;
      if (near) {
        r.ripDelta[i] = rip - prev.rip;
        prev.rip = rip;
      } else r.ripDelta[i] = 0;
    }
    if (!near) this.exactly('rip', u64(pos.ripLo, pos.ripHi));
    this.lastKey = k;
    this.lastPos = prev;
    this.bytes += 12;
    // One small method per kind, so the column pushes inline into it.
    switch (e.kind) {
      case 'hypercall':
        return this.addHypercall(e);
      case 'evtchn_send':
        return this.addSend(e);
      case 'evtchn_deliver':
        this.dl.nports.push(e.ports.length);
        for (const p of e.ports) this.dl.ports.push(p);
        return;
      case 'exception':
        return this.addException(e);
      case 'timer':
        return this.i53(this.tm.deadline, 'deadline', e.deadline, true);
      case 'sched':
        return this.addSched(e);
      case 'console':
      case 'input':
      case 'milestone':
        return this.addText(e);
      case 'xenstore':
        return this.addXenstore(e);
      case 'ring':
        return this.addRing(e);
      case 'domain_state':
        this.ds.stateStr.push(this.str(e.state));
        return this.ds.reasonStr.push(this.str(e.reason));
      case 'grants':
        this.gr.entries.count.push(this.putFields(this.gr.entries, { granted: e.granted, mapped: e.mapped }));
        return;
      case 'net':
        return this.addNet(e);
    }
  }

  private addHypercall(e: Extract<SimEvent, { kind: 'hypercall' }>): void {
    const h = this.hc;
    this.u32(h.op, 'op', e.op);
    this.i32(h.sub, 'sub', e.sub);
    const nameId = this.str(e.name);
    h.nameStr.push(nameId);
    while (this.hcNameCounts.length <= nameId) this.hcNameCounts.push(0);
    this.hcNameCounts[nameId]!++;
    h.subNameStr.push(this.str(e.subName));
    this.i53(h.result, 'result', e.result);
    const a = e.args;
    for (let i = 0; i < 5; i++) this.put64(h.argLo, h.argHi, i < a.length ? a[i]! : 0n);
    this.put64(h.callerLo, h.callerHi, e.caller);
    h.decoded.count.push(this.putFields(h.decoded, e.decoded));
    this.bytes += 30;
  }

  private addSend(e: Extract<SimEvent, { kind: 'evtchn_send' }>): void {
    const s = this.ev;
    this.u32(s.port, 'port', e.port);
    this.i32(s.toDom, 'toDom', e.toDom);
    this.i32(s.toPort, 'toPort', e.toPort);
    this.i32(s.virq, 'virq', e.virq);
    s.masked.push(e.masked === true);
    if (e.masked === true) this.anyMasked = true;
  }

  private addSched(e: Extract<SimEvent, { kind: 'sched' }>): void {
    const c = this.sc;
    c.whatStr.push(this.str(e.what));
    this.i53(c.until, 'until', e.until);
    const rings = e.rings;
    if (rings === undefined || rings.length === 0) return c.rings.count.push(0);
    this.anySchedRings = true;
    c.rings.count.push(this.putFields(c.rings, { ring: rings }));
  }

  private addException(e: Extract<SimEvent, { kind: 'exception' }>): void {
    const x = this.ex;
    this.u32(x.vector, 'vector', e.vector);
    this.u32(x.errorCode, 'errorCode', e.errorCode);
    this.put64(x.cr2Lo, x.cr2Hi, e.cr2);
    x.bounced.push(e.bounced);
    this.put64(x.handlerLo, x.handlerHi, e.handler);
  }

  private addText(e: Extract<SimEvent, { kind: 'console' | 'input' | 'milestone' }>): void {
    const col = this.text[e.kind];
    col.sourceStr.push(this.str(e.kind === 'milestone' ? '' : e.source));
    const t = Buffer.from(e.text, 'latin1');
    col.text.push(t);
    this.bytes += t.length;
  }

  private addXenstore(e: Extract<SimEvent, { kind: 'xenstore' }>): void {
    const x = this.xs;
    x.opStr.push(this.str(e.op));
    this.u32(x.txId, 'txId', e.txId);
    x.pathStr.push(this.str(e.path));
    const v = Buffer.from(e.value, 'latin1');
    x.value.push(v);
    x.resultStr.push(this.str(e.result));
    this.bytes += v.length + 8;
  }

  private addRing(e: Extract<SimEvent, { kind: 'ring' }>): void {
    const r = this.rg;
    r.ringKindStr.push(this.str(e.ring));
    this.u32(r.frontDom, 'frontDom', e.frontDom);
    this.u32(r.backDom, 'backDom', e.backDom);
    this.u32(r.gref, 'gref', e.gref);
    this.u32(r.port, 'port', e.port);
    this.u32(r.reqProdBefore, 'reqProdBefore', e.reqProdBefore);
    this.u32(r.reqProdAfter, 'reqProdAfter', e.reqProdAfter);
    this.u32(r.rspProdBefore, 'rspProdBefore', e.rspProdBefore);
    this.u32(r.rspProdAfter, 'rspProdAfter', e.rspProdAfter);
    this.u32(r.reqCons, 'reqCons', e.reqCons);
    this.u32(r.rspCons, 'rspCons', e.rspCons);
    r.slots.count.push(this.putFields(r.slots, { slot: e.slots }));
    r.seenStr.push(this.str(e.seen ?? ''));
    this.u32(r.entries, 'entries', e.entries ?? 0);
  }

  private addNet(e: Extract<SimEvent, { kind: 'net' }>): void {
    const n = this.net;
    n.bridgeStr.push(this.str(e.bridge));
    n.srcStr.push(this.str(e.src));
    n.dstStr.push(this.str(e.dst));
    n.frame.push(e.frame);
    this.bytes += e.frame.length + 4;
  }

  /** The EventBatch message object (protobufjs field names). */
  message(prevHash: Uint8Array): Record<string, unknown> {
    const t = this.text;
    return views({
      firstSeq: this.firstSeq, count: this.count, prevHash, firstTime: this.firstTime, start: this.start, strings: this.strings,
      ...this.rows.views(), stacks: this.stacks,
      hypercall: this.hc, evtchnSend: this.anyMasked ? this.ev : { ...this.ev, masked: [] }, evtchnDeliver: this.dl, exception: this.ex, timer: this.tm,
      sched: this.anySchedRings ? this.sc : { whatStr: this.sc.whatStr, until: this.sc.until },
      console: t.console, xenstore: this.xs, ring: this.rg, domainState: this.ds, input: t.input, milestone: t.milestone, grants: this.gr, net: this.net,
      ...(this.exactEvent.n > 0 ? { exactEvent: this.exactEvent, exact: this.exact } : {}),
    });
  }
}

/** Stable JSON of an event: sorted keys, bigints as hex. */
export function eventJson(e: TraceEvent): string {
  const sort = (v: unknown): unknown => {
    if (typeof v === 'bigint') return `0x${v.toString(16)}`;
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(e));
}

/**
 * An event as the trace stores it (decoded fields flattened, ...): what a
 * live event must equal, in this form, to match its recorded counterpart.
 */
export function canonical(e: SimEvent): TraceEvent {
  const b = new BatchBuilder(e.seq, e.time);
  b.add(e);
  return decodeBatch(b.message(new Uint8Array()) as Record<string, unknown>)[0]!;
}
