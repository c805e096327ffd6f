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
import { decodeBatch, type TraceEvent } from './decode-batch.js';
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

type Fields = { count: U32Col; keyStr: U32Col; type: U32Col; intValue: F64Col; u64Lo: U32Col; u64Hi: U32Col; strValue: U32Col };
const fields = (): Fields => ({ count: new U32Col(), keyStr: new U32Col(), type: new U32Col(), intValue: new F64Col(), u64Lo: new U32Col(), u64Hi: new U32Col(), strValue: new U32Col() });
/** Field value types of flattened decoded records. */
export const FT = { INT: 0, U64: 1, STRING: 2, BOOL: 3 } as const;
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
  private readonly ev = { port: new U32Col(), toDom: new I32Col(), toPort: new I32Col(), virq: new I32Col() };
  private readonly dl = { nports: new U32Col(), ports: new U32Col() };
  private readonly ex = { vector: new U32Col(), errorCode: new U32Col(), cr2Lo: new U32Col(), cr2Hi: new U32Col(), bounced: [] as boolean[], handlerLo: new U32Col(), handlerHi: new U32Col() };
  private readonly tm = { deadline: new F64Col() };
  private readonly sc = { whatStr: new U32Col(), until: new F64Col() };
  private readonly text = { console: { sourceStr: new U32Col(), text: [] as Uint8Array[] }, input: { sourceStr: new U32Col(), text: [] as Uint8Array[] }, milestone: { sourceStr: new U32Col(), text: [] as Uint8Array[] } };
  private readonly xs = { opStr: new U32Col(), txId: new U32Col(), pathStr: new U32Col(), value: [] as Uint8Array[], resultStr: new U32Col() };
  private readonly rg = { ringKindStr: new U32Col(), frontDom: new U32Col(), backDom: new U32Col(), gref: new U32Col(), port: new U32Col(), reqProdBefore: new U32Col(), reqProdAfter: new U32Col(), rspProdBefore: new U32Col(), rspProdAfter: new U32Col(), reqCons: new U32Col(), rspCons: new U32Col(), slots: fields() };
  private readonly ds = { stateStr: new U32Col(), reasonStr: new U32Col() };
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
    } else {
      f.type.push(FT.INT);
      f.intValue.push(v);
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
    // RIPs are canonical, so as signed 64-bit numbers they are exact doubles
    // and their deltas fit 48 bits.
    const hi = pos.ripHi | 0;
    if (hi > 0x7fff || hi < -0x8000) throw new RangeError(`non-canonical RIP 0x${e.rip.toString(16)} in event ${e.seq}`);
    const rip = hi * 4294967296 + pos.ripLo;
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
      r.ripDelta[i] = rip - prev.rip;
      prev.icount = icount;
      prev.rip = rip;
    }
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
        return this.tm.deadline.push(e.deadline);
      case 'sched':
        this.sc.whatStr.push(this.str(e.what));
        return this.sc.until.push(e.until);
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
    }
  }

  private addHypercall(e: Extract<SimEvent, { kind: 'hypercall' }>): void {
    const h = this.hc;
    h.op.push(e.op);
    h.sub.push(e.sub);
    const nameId = this.str(e.name);
    h.nameStr.push(nameId);
    while (this.hcNameCounts.length <= nameId) this.hcNameCounts.push(0);
    this.hcNameCounts[nameId]!++;
    h.subNameStr.push(this.str(e.subName));
    h.result.push(e.result);
    const a = e.args;
    for (let i = 0; i < 5; i++) this.put64(h.argLo, h.argHi, i < a.length ? a[i]! : 0n);
    this.put64(h.callerLo, h.callerHi, e.caller);
    h.decoded.count.push(this.putFields(h.decoded, e.decoded));
    this.bytes += 30;
  }

  private addSend(e: Extract<SimEvent, { kind: 'evtchn_send' }>): void {
    const s = this.ev;
    s.port.push(e.port);
    s.toDom.push(e.toDom);
    s.toPort.push(e.toPort);
    s.virq.push(e.virq);
  }

  private addException(e: Extract<SimEvent, { kind: 'exception' }>): void {
    const x = this.ex;
    x.vector.push(e.vector);
    x.errorCode.push(e.errorCode >>> 0);
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
    x.txId.push(e.txId);
    x.pathStr.push(this.str(e.path));
    const v = Buffer.from(e.value, 'latin1');
    x.value.push(v);
    x.resultStr.push(this.str(e.result));
    this.bytes += v.length + 8;
  }

  private addRing(e: Extract<SimEvent, { kind: 'ring' }>): void {
    const r = this.rg;
    r.ringKindStr.push(this.str(e.ring));
    r.frontDom.push(e.frontDom);
    r.backDom.push(e.backDom);
    r.gref.push(e.gref);
    r.port.push(e.port);
    r.reqProdBefore.push(e.reqProdBefore >>> 0);
    r.reqProdAfter.push(e.reqProdAfter >>> 0);
    r.rspProdBefore.push(e.rspProdBefore >>> 0);
    r.rspProdAfter.push(e.rspProdAfter >>> 0);
    r.reqCons.push(e.reqCons >>> 0);
    r.rspCons.push(e.rspCons >>> 0);
    r.slots.count.push(this.putFields(r.slots, { slot: e.slots }));
  }

  /** The EventBatch message object (protobufjs field names). */
  message(prevHash: Uint8Array): Record<string, unknown> {
    const t = this.text;
    return views({
      firstSeq: this.firstSeq, count: this.count, prevHash, firstTime: this.firstTime, start: this.start, strings: this.strings,
      ...this.rows.views(), stacks: this.stacks,
      hypercall: this.hc, evtchnSend: this.ev, evtchnDeliver: this.dl, exception: this.ex, timer: this.tm, sched: this.sc,
      console: t.console, xenstore: this.xs, ring: this.rg, domainState: this.ds, input: t.input, milestone: t.milestone,
    });
  }
}

/** Stable JSON of an event: sorted keys, bigints as hex. */
export function eventJson(e: TraceEvent): string {
  const sort = (v: unknown): unknown => {
    if (typeof v === 'bigint') return `0x${v.toString(16)}`;
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
