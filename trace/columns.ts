/**
 * Events <-> EventBatch columns. The encoder appends events to typed column
 * arrays (no per-event protobuf message); one protobuf encode per batch.
 * Decoding rebuilds the events exactly: times, instruction counts and RIPs
 * are deltas per vCPU and restart in every batch.
 *
 * Decoded hypercall arguments and ring slots are flattened to key/value
 * fields: nested records become "a.b", list items "a[0]".
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import { KIND_CODES, KIND_NAMES, type KindName } from './schema.js';

type Fields = { count: number[]; keyStr: number[]; type: number[]; intValue: number[]; u64Lo: number[]; u64Hi: number[]; strValue: number[] };
const fields = (): Fields => ({ count: [], keyStr: [], type: [], intValue: [], u64Lo: [], u64Hi: [], strValue: [] });
const FT = { INT: 0, U64: 1, STRING: 2, BOOL: 3 } as const;
/** Scratch for splitting a 64-bit value into halves without BigInt arithmetic. */
const SPLIT = new DataView(new ArrayBuffer(8));

const vkey = (dom: number, vcpu: number): number => dom * 64 + (vcpu + 1);

/** Column builder for one batch. */
export class BatchBuilder {
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  readonly kind: number[] = [];
  private readonly timeDelta: number[] = [];
  private readonly dom: number[] = [];
  private readonly vcpu: number[] = [];
  private readonly icountDelta: number[] = [];
  private readonly ripDelta: number[] = [];
  private readonly last = new Map<number, { icount: number; rip: bigint }>();
  private readonly start: Array<{ dom: number; vcpu: number; icount: number; rip: number }> = [];
  private lastTime: number;
  private readonly hc = { op: [] as number[], sub: [] as number[], nameStr: [] as number[], subNameStr: [] as number[], result: [] as number[], argLo: [] as number[], argHi: [] as number[], decoded: fields(), callerLo: [] as number[], callerHi: [] as number[] };
  private readonly ev = { port: [] as number[], toDom: [] as number[], toPort: [] as number[], virq: [] as number[] };
  private readonly dl = { nports: [] as number[], ports: [] as number[] };
  private readonly ex = { vector: [] as number[], errorCode: [] as number[], cr2Lo: [] as number[], cr2Hi: [] as number[], bounced: [] as boolean[], handlerLo: [] as number[], handlerHi: [] as number[] };
  private readonly tm = { deadline: [] as number[] };
  private readonly sc = { whatStr: [] as number[], until: [] as number[] };
  private readonly text = { console: { sourceStr: [] as number[], text: [] as Uint8Array[] }, input: { sourceStr: [] as number[], text: [] as Uint8Array[] }, milestone: { sourceStr: [] as number[], text: [] as Uint8Array[] } };
  private readonly xs = { opStr: [] as number[], txId: [] as number[], pathStr: [] as number[], value: [] as Uint8Array[], resultStr: [] as number[] };
  private readonly rg = { ringKindStr: [] as number[], frontDom: [] as number[], backDom: [] as number[], gref: [] as number[], port: [] as number[], reqProdBefore: [] as number[], reqProdAfter: [] as number[], rspProdBefore: [] as number[], rspProdAfter: [] as number[], reqCons: [] as number[], rspCons: [] as number[], slots: fields() };
  private readonly ds = { stateStr: [] as number[], reasonStr: [] as number[] };
  /** approximate encoded size, to bound batches */
  bytes = 0;

  constructor(readonly firstSeq: number, readonly firstTime: number) {
    this.lastTime = firstTime;
  }

  get count(): number {
    return this.kind.length;
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

  private put64(lo: number[], hi: number[], v: bigint): void {
    SPLIT.setBigUint64(0, v, true); // wraps modulo 2^64
    lo.push(SPLIT.getUint32(0, true));
    hi.push(SPLIT.getUint32(4, true));
  }

  private putFields(f: Fields, d: Decoded, prefix = ''): number {
    let n = 0;
    for (const [k, v] of Object.entries(d)) {
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

  add(e: SimEvent): void {
    const code = KIND_CODES[e.kind];
    this.kind.push(code);
    this.timeDelta.push(e.time - this.lastTime);
    this.lastTime = e.time;
    this.dom.push(e.dom < 0 ? 0x7fff : e.dom);
    this.vcpu.push(e.vcpu);
    const k = vkey(e.dom, e.vcpu);
    let prev = this.last.get(k);
    if (prev === undefined) {
      prev = { icount: e.icount, rip: e.rip };
      this.start.push({ dom: e.dom < 0 ? 0x7fff : e.dom, vcpu: e.vcpu, icount: e.icount, rip: 0 });
      this.last.set(k, prev);
      this.icountDelta.push(0);
      this.ripDelta.push(Number(BigInt.asIntN(64, e.rip)));
    } else {
      this.icountDelta.push(e.icount - prev.icount);
      const d = BigInt.asIntN(64, e.rip - prev.rip);
      // RIPs are canonical, so deltas fit 48 bits; anything else is a recorder bug.
      if (d > 0x1fffffffffffffn || d < -0x1fffffffffffffn) throw new RangeError(`non-canonical RIP 0x${e.rip.toString(16)} in event ${e.seq}`);
      this.ripDelta.push(Number(d));
      prev.icount = e.icount;
      prev.rip = e.rip;
    }
    this.bytes += 12;
    switch (e.kind) {
      case 'hypercall': {
        const h = this.hc;
        h.op.push(e.op);
        h.sub.push(e.sub);
        h.nameStr.push(this.str(e.name));
        h.subNameStr.push(this.str(e.subName));
        h.result.push(e.result);
        for (let i = 0; i < 5; i++) this.put64(h.argLo, h.argHi, e.args[i] ?? 0n);
        this.put64(h.callerLo, h.callerHi, e.caller);
        h.decoded.count.push(this.putFields(h.decoded, e.decoded));
        this.bytes += 30;
        break;
      }
      case 'evtchn_send':
        this.ev.port.push(e.port);
        this.ev.toDom.push(e.toDom);
        this.ev.toPort.push(e.toPort);
        this.ev.virq.push(e.virq);
        break;
      case 'evtchn_deliver':
        this.dl.nports.push(e.ports.length);
        this.dl.ports.push(...e.ports);
        break;
      case 'exception':
        this.ex.vector.push(e.vector);
        this.ex.errorCode.push(e.errorCode >>> 0);
        this.put64(this.ex.cr2Lo, this.ex.cr2Hi, e.cr2);
        this.ex.bounced.push(e.bounced);
        this.put64(this.ex.handlerLo, this.ex.handlerHi, e.handler);
        break;
      case 'timer':
        this.tm.deadline.push(e.deadline);
        break;
      case 'sched':
        this.sc.whatStr.push(this.str(e.what));
        this.sc.until.push(e.until);
        break;
      case 'console':
      case 'input':
      case 'milestone': {
        const col = this.text[e.kind];
        const source = e.kind === 'console' ? e.source : e.kind === 'input' ? e.source : '';
        col.sourceStr.push(this.str(source));
        const t = Buffer.from(e.text, 'latin1');
        col.text.push(t);
        this.bytes += t.length;
        break;
      }
      case 'xenstore': {
        const x = this.xs;
        x.opStr.push(this.str(e.op));
        x.txId.push(e.txId);
        x.pathStr.push(this.str(e.path));
        const v = Buffer.from(e.value, 'latin1');
        x.value.push(v);
        x.resultStr.push(this.str(e.result));
        this.bytes += v.length + 8;
        break;
      }
      case 'ring': {
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
        break;
      }
      case 'domain_state':
        this.ds.stateStr.push(this.str(e.state));
        this.ds.reasonStr.push(this.str(e.reason));
        break;
    }
  }

  /** The EventBatch message object (protobufjs field names). */
  message(prevHash: Uint8Array): Record<string, unknown> {
    const t = this.text;
    return {
      firstSeq: this.firstSeq, count: this.count, prevHash, firstTime: this.firstTime, start: this.start, strings: this.strings,
      kind: this.kind, timeDelta: this.timeDelta, dom: this.dom, vcpu: this.vcpu, icountDelta: this.icountDelta, ripDelta: this.ripDelta,
      hypercall: this.hc, evtchnSend: this.ev, evtchnDeliver: this.dl, exception: this.ex, timer: this.tm, sched: this.sc,
      console: t.console, xenstore: this.xs, ring: this.rg, domainState: this.ds, input: t.input, milestone: t.milestone,
    };
  }
}

/** An event read back from a trace: SimEvent with decoded fields flattened. */
export type TraceEvent = SimEvent;

type Col = { [k: string]: unknown };
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v as { toString(): string }));
const memo = new WeakMap<object, Map<string, number[]>>();
/** Column `k` of `c` as numbers, converted once per batch. */
const arr = (c: Col | undefined, k: string): number[] => {
  if (c === undefined) return [];
  let m = memo.get(c);
  if (m === undefined) {
    m = new Map();
    memo.set(c, m);
  }
  let a = m.get(k);
  if (a === undefined) {
    const raw = (c[k] as unknown[] | undefined) ?? [];
    a = raw.length > 0 && typeof raw[0] === 'number' ? (raw as number[]) : raw.map(num);
    m.set(k, a);
  }
  return a;
};
const u64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

function readFields(c: Col | undefined, strings: string[]): () => Decoded {
  const count = arr(c, 'count');
  const key = arr(c, 'keyStr');
  const type = arr(c, 'type');
  const iv = arr(c, 'intValue');
  const lo = arr(c, 'u64Lo');
  const hi = arr(c, 'u64Hi');
  const sv = arr(c, 'strValue');
  let ev = 0;
  let f = 0;
  let ii = 0;
  let ui = 0;
  let si = 0;
  return () => {
    const out: Decoded = {};
    const n = count[ev++] ?? 0;
    for (let k = 0; k < n; k++, f++) {
      const name = strings[key[f]!] ?? '?';
      switch (type[f]) {
        case FT.U64:
          out[name] = u64(lo[ui]!, hi[ui]!);
          ui++;
          break;
        case FT.STRING:
          out[name] = strings[sv[si++]!] ?? '';
          break;
        case FT.BOOL:
          out[name] = iv[ii++] === 1;
          break;
        default:
          out[name] = iv[ii++]!;
      }
    }
    return out;
  };
}

/** Rebuild the events of a decoded EventBatch message. */
export function decodeBatch(b: Col): TraceEvent[] {
  const strings = (b.strings as string[] | undefined) ?? [];
  const kinds = arr(b, 'kind');
  const td = arr(b, 'timeDelta');
  const dom = arr(b, 'dom');
  const vcpu = arr(b, 'vcpu');
  const idelta = arr(b, 'icountDelta');
  const rdelta = arr(b, 'ripDelta');
  const S = (c: string): Col => (b[c] as Col | undefined) ?? {};
  const hc = S('hypercall');
  const hcDecoded = readFields(hc.decoded as Col, strings);
  const ring = S('ring');
  const ringSlots = readFields(ring.slots as Col, strings);
  const idx: Record<string, number> = {};
  const next = (k: string): number => (idx[k] = (idx[k] ?? -1) + 1);
  const pos = new Map<number, { icount: number; rip: bigint }>();
  const out: TraceEvent[] = [];
  const starts = (b.start as Col[] | undefined) ?? [];
  let time = num(b.firstTime ?? 0);
  const deliverPorts = arr(S('evtchnDeliver'), 'ports');
  let dp = 0;
  const text = (c: Col, i: number): string => Buffer.from(((c.text as Uint8Array[] | undefined) ?? [])[i] ?? new Uint8Array()).toString('latin1');
  for (let i = 0; i < kinds.length; i++) {
    time += td[i]!;
    const d = dom[i] === 0x7fff ? -1 : dom[i]!;
    const v = vcpu[i]!;
    const key = vkey(d, v);
    let p = pos.get(key);
    if (p === undefined) {
      const st = starts.find((s) => num(s.dom) === dom[i] && num(s.vcpu) === v);
      p = { icount: num(st?.icount ?? 0), rip: BigInt.asUintN(64, BigInt(rdelta[i]!)) };
      pos.set(key, p);
    } else {
      p.icount += idelta[i]!;
      p.rip = BigInt.asUintN(64, p.rip + BigInt(rdelta[i]!));
    }
    const base = { seq: num(b.firstSeq) + i, time, dom: d, vcpu: v, icount: p.icount, rip: p.rip };
    const kind = KIND_NAMES[kinds[i]!] as KindName;
    let e: TraceEvent;
    switch (kind) {
      case 'hypercall': {
        const j = next(kind);
        const lo = arr(hc, 'argLo');
        const hi = arr(hc, 'argHi');
        e = { ...base, kind, op: arr(hc, 'op')[j]!, sub: arr(hc, 'sub')[j]!, name: strings[arr(hc, 'nameStr')[j]!]!, subName: strings[arr(hc, 'subNameStr')[j]!]!, result: arr(hc, 'result')[j]!, args: [0, 1, 2, 3, 4].map((a) => u64(lo[5 * j + a]!, hi[5 * j + a]!)), decoded: hcDecoded(), caller: u64(arr(hc, 'callerLo')[j] ?? 0, arr(hc, 'callerHi')[j] ?? 0) };
        break;
      }
      case 'evtchn_send': {
        const j = next(kind);
        const c = S('evtchnSend');
        e = { ...base, kind, port: arr(c, 'port')[j]!, toDom: arr(c, 'toDom')[j]!, toPort: arr(c, 'toPort')[j]!, virq: arr(c, 'virq')[j]! };
        break;
      }
      case 'evtchn_deliver': {
        const j = next(kind);
        const n = arr(S('evtchnDeliver'), 'nports')[j]!;
        e = { ...base, kind, ports: deliverPorts.slice(dp, dp + n) };
        dp += n;
        break;
      }
      case 'exception': {
        const j = next(kind);
        const c = S('exception');
        e = { ...base, kind, vector: arr(c, 'vector')[j]!, errorCode: arr(c, 'errorCode')[j]!, cr2: u64(arr(c, 'cr2Lo')[j]!, arr(c, 'cr2Hi')[j]!), bounced: ((c.bounced as boolean[] | undefined) ?? [])[j] === true, handler: u64(arr(c, 'handlerLo')[j]!, arr(c, 'handlerHi')[j]!) };
        break;
      }
      case 'timer':
        e = { ...base, kind, deadline: arr(S('timer'), 'deadline')[next(kind)]! };
        break;
      case 'sched': {
        const j = next(kind);
        e = { ...base, kind, what: strings[arr(S('sched'), 'whatStr')[j]!] as 'block', until: arr(S('sched'), 'until')[j]! };
        break;
      }
      case 'console':
      case 'input':
      case 'milestone': {
        const j = next(kind);
        const c = S(kind);
        const source = strings[arr(c, 'sourceStr')[j]!] ?? '';
        e = kind === 'console' ? { ...base, kind, text: text(c, j), source: source as 'ring' } : kind === 'input' ? { ...base, kind, source, text: text(c, j) } : { ...base, kind, text: text(c, j) };
        break;
      }
      case 'xenstore': {
        const j = next(kind);
        const c = S('xenstore');
        e = { ...base, kind, op: strings[arr(c, 'opStr')[j]!]!, txId: arr(c, 'txId')[j]!, path: strings[arr(c, 'pathStr')[j]!]!, value: text({ text: c.value }, j), result: strings[arr(c, 'resultStr')[j]!]! };
        break;
      }
      case 'ring': {
        const j = next(kind);
        const flat = ringSlots();
        const slots: Decoded[] = [];
        for (const [k2, val] of Object.entries(flat)) {
          const m = /^slot\[(\d+)\]\.(.*)$/.exec(k2);
          if (m === null) continue;
          const s = (slots[Number(m[1])] ??= {});
          s[m[2]!] = val;
        }
        const g = (k2: string): number => arr(ring, k2)[j]!;
        e = { ...base, kind, ring: strings[g('ringKindStr')] as 'blkif', frontDom: g('frontDom'), backDom: g('backDom'), gref: g('gref'), port: g('port'), reqProdBefore: g('reqProdBefore'), reqProdAfter: g('reqProdAfter'), rspProdBefore: g('rspProdBefore'), rspProdAfter: g('rspProdAfter'), reqCons: g('reqCons'), rspCons: g('rspCons'), slots };
        break;
      }
      case 'domain_state': {
        const j = next(kind);
        e = { ...base, kind, state: strings[arr(S('domainState'), 'stateStr')[j]!] as 'shutdown', reason: strings[arr(S('domainState'), 'reasonStr')[j]!]! };
        break;
      }
      default:
        throw new Error(`unknown event kind ${kinds[i]}`);
    }
    out.push(e);
  }
  return out;
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
