/**
 * EventBatch columns -> events, the inverse of BatchBuilder. Every column is
 * resolved once per batch and walked with a cursor per kind; 64-bit values
 * are rebuilt from their uint32 halves through a typed array, so an event
 * costs about one BigInt allocation per 64-bit field and nothing else.
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import { FT, vkey } from './columns.js';
import { KIND_NAMES, type KindName } from './schema.js';

/** An event read back from a trace: SimEvent with decoded fields flattened. */
export type TraceEvent = SimEvent;

type Col = { [k: string]: unknown };
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v as { toString(): string }));
/** Column `k` of `c` as numbers (protobufjs gives numbers already with `longs: Number`). */
const arr = (c: Col | undefined, k: string): number[] => {
  const raw = (c?.[k] as unknown[] | ArrayLike<number> | undefined) ?? [];
  // Typed arrays (a builder's columns, before encoding) become plain arrays: events hold number[].
  if (!Array.isArray(raw)) return Array.from(raw as ArrayLike<number>);
  return raw.length > 0 && typeof raw[0] !== 'number' ? raw.map(num) : (raw as number[]);
};
const sub = (b: Col, k: string): Col => (b[k] as Col | undefined) ?? {};
/** Several numeric columns of one sub-message. */
function pick<K extends string>(c: Col, keys: readonly K[]): Record<K, number[]> {
  return Object.fromEntries(keys.map((k) => [k, arr(c, k)])) as Record<K, number[]>;
}

/** Scratch for joining uint32 halves (little-endian host, as x86-64). */
const JOIN = new BigUint64Array(1);
const JOIN_32 = new Uint32Array(JOIN.buffer);
export function u64(lo: number, hi: number): bigint {
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo >>> 0);
  JOIN_32[0] = lo;
  JOIN_32[1] = hi;
  return JOIN[0]!;
}
/** A RIP kept as a signed double (within +-2^52), back to its uint64 BigInt. */
const addr = (n: number): bigint => (n === 0 ? 0n : u64(n >>> 0, Math.floor(n / 4294967296) >>> 0));

/** A reader of flattened decoded records ("a.b", "a[0]" keys). */
function readFields(c: Col | undefined, strings: string[]): () => Decoded {
  const count = arr(c, 'count');
  const key = arr(c, 'keyStr');
  const type = arr(c, 'type');
  const iv = arr(c, 'intValue');
  const lo = arr(c, 'u64Lo');
  const hi = arr(c, 'u64Hi');
  const sv = arr(c, 'strValue');
  const dv = arr(c, 'doubleValue');
  let ev = 0;
  let f = 0;
  let ii = 0;
  let ui = 0;
  let si = 0;
  let di = 0;
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
        case FT.DOUBLE:
          out[name] = dv[di++]!;
          break;
        default:
          out[name] = iv[ii++]!;
      }
    }
    return out;
  };
}

/** "slot[3].id" keys (`name` "slot") back to one record per list item. */
const LIST_KEY = new Map<string, RegExp>();
function unflatten(flat: Decoded, name = 'slot'): Decoded[] {
  const items: Decoded[] = [];
  let re = LIST_KEY.get(name);
  if (re === undefined) LIST_KEY.set(name, (re = new RegExp(`^${name}\\[(\\d+)\\]\\.(.*)$`)));
  for (const k in flat) {
    const m = re.exec(k);
    if (m === null) continue;
    const s = (items[Number(m[1])] ??= {});
    s[m[2]!] = flat[k]!;
  }
  return items;
}

/** The batch's stack table (one shared array per stack). */
function readStacks(c: Col): bigint[][] {
  const count = arr(c, 'count');
  const lo = arr(c, 'lo');
  const hi = arr(c, 'hi');
  const out: bigint[][] = [];
  let at = 0;
  for (const n of count) {
    const st: bigint[] = [];
    for (let k = 0; k < n; k++, at++) st.push(u64(lo[at] ?? 0, hi[at] ?? 0));
    out.push(st);
  }
  return out;
}

const latin1 = (c: Col, key: string): ((i: number) => string) => {
  const list = (c[key] as Uint8Array[] | undefined) ?? [];
  return (i) => {
    const b = list[i];
    return b === undefined ? '' : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  };
};

/** Rebuild the events of a decoded EventBatch message (protobufjs toObject form). */
export function decodeBatch(b: Col): TraceEvent[] {
  const strings = (b.strings as string[] | undefined) ?? [];
  const str = (i: number | undefined): string => strings[i ?? -1] ?? '';
  const kinds = arr(b, 'kind');
  const td = arr(b, 'timeDelta');
  const dom = arr(b, 'dom');
  const vcpu = arr(b, 'vcpu');
  const idelta = arr(b, 'icountDelta');
  const rdelta = arr(b, 'ripDelta');
  const starts = (b.start as Col[] | undefined) ?? [];
  const stackId = arr(b, 'stackId');
  const stacks = readStacks(sub(b, 'stacks'));
  const firstSeq = num(b.firstSeq ?? 0);
  // Values their columns could not hold, by event (see BatchBuilder.exactly).
  const exactEvent = arr(b, 'exactEvent');
  const exactFields = readFields(b.exact as Col | undefined, strings);
  let xe = 0;
  let time = num(b.firstTime ?? 0);

  const hc = sub(b, 'hypercall');
  const h = pick(hc, ['op', 'sub', 'nameStr', 'subNameStr', 'result', 'argLo', 'argHi', 'callerLo', 'callerHi']);
  const [hLo, hHi] = [h.argLo, h.argHi];
  const hDecoded = readFields(hc.decoded as Col, strings);
  const esCol = sub(b, 'evtchnSend');
  const es = pick(esCol, ['port', 'toDom', 'toPort', 'virq']);
  const esMasked = (esCol.masked as boolean[] | undefined) ?? [];
  const dl = sub(b, 'evtchnDeliver');
  const dN = arr(dl, 'nports');
  const dPorts = arr(dl, 'ports');
  const ex = sub(b, 'exception');
  const x = pick(ex, ['vector', 'errorCode', 'cr2Lo', 'cr2Hi', 'handlerLo', 'handlerHi']);
  const xBounced = (ex.bounced as boolean[] | undefined) ?? [];
  const tDeadline = arr(sub(b, 'timer'), 'deadline');
  const sc = sub(b, 'sched');
  const [cWhat, cUntil] = [arr(sc, 'whatStr'), arr(sc, 'until')];
  const cRings = sc.rings === undefined ? null : readFields(sc.rings as Col, strings);
  const text = { console: sub(b, 'console'), input: sub(b, 'input'), milestone: sub(b, 'milestone') };
  const textSource = { console: arr(text.console, 'sourceStr'), input: arr(text.input, 'sourceStr'), milestone: arr(text.milestone, 'sourceStr') };
  const textOf = { console: latin1(text.console, 'text'), input: latin1(text.input, 'text'), milestone: latin1(text.milestone, 'text') };
  const xs = sub(b, 'xenstore');
  const z = pick(xs, ['opStr', 'txId', 'pathStr', 'resultStr']);
  const zValue = latin1(xs, 'value');
  const rg = sub(b, 'ring');
  const r = pick(rg, ['ringKindStr', 'frontDom', 'backDom', 'gref', 'port', 'reqProdBefore', 'reqProdAfter', 'rspProdBefore', 'rspProdAfter', 'reqCons', 'rspCons', 'seenStr', 'entries']);
  const rSlots = readFields(rg.slots as Col, strings);
  const ds = sub(b, 'domainState');
  const [dState, dReason] = [arr(ds, 'stateStr'), arr(ds, 'reasonStr')];
  const gEntries = readFields(sub(b, 'grants').entries as Col | undefined, strings);
  const nt = sub(b, 'net');
  const n = pick(nt, ['bridgeStr', 'srcStr', 'dstStr']);
  const nFrame = (nt.frame as Uint8Array[] | undefined) ?? [];

  // per-kind cursors into the columns
  let ih = 0, is = 0, id = 0, dp = 0, ix = 0, it = 0, ic = 0, iz = 0, ir = 0, ids = 0, inet = 0;
  const it3 = { console: 0, input: 0, milestone: 0 };
  /** per-vCPU running icount and RIP (signed double) */
  const pos = new Map<number, { icount: number; rip: number }>();
  const out: TraceEvent[] = new Array(kinds.length);
  for (let i = 0; i < kinds.length; i++) {
    time += td[i]!;
    const dRaw = dom[i]!;
    const d = dRaw === 0x7fff ? -1 : dRaw;
    const v = vcpu[i]!;
    const key = vkey(d, v);
    let p = pos.get(key);
    if (p === undefined) {
      const st = starts.find((s) => num(s.dom) === dRaw && num(s.vcpu) === v);
      p = { icount: num(st?.icount ?? 0), rip: rdelta[i]! };
      pos.set(key, p);
    } else {
      p.icount += idelta[i]!;
      p.rip += rdelta[i]!;
    }
    const seq = firstSeq + i;
    const icount = p.icount;
    const rip = addr(p.rip);
    const kind = KIND_NAMES[kinds[i]!] as KindName | undefined;
    let e: TraceEvent;
    switch (kind) {
      case 'hypercall': {
        const j = ih++;
        const a = 5 * j;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, op: h.op[j]!, sub: h.sub[j]!, name: str(h.nameStr[j]), subName: str(h.subNameStr[j]), result: h.result[j]!,
          args: [u64(hLo[a]!, hHi[a]!), u64(hLo[a + 1]!, hHi[a + 1]!), u64(hLo[a + 2]!, hHi[a + 2]!), u64(hLo[a + 3]!, hHi[a + 3]!), u64(hLo[a + 4]!, hHi[a + 4]!)],
          decoded: hDecoded(), caller: u64(h.callerLo[j] ?? 0, h.callerHi[j] ?? 0) };
        break;
      }
      case 'evtchn_send': {
        const j = is++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, port: es.port[j]!, toDom: es.toDom[j]!, toPort: es.toPort[j]!, virq: es.virq[j]! };
        if (esMasked[j] === true) e.masked = true;
        break;
      }
      case 'evtchn_deliver': {
        const n = dN[id++]!;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, ports: dPorts.slice(dp, dp + n) };
        dp += n;
        break;
      }
      case 'exception': {
        const j = ix++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, vector: x.vector[j]!, errorCode: x.errorCode[j]!, cr2: u64(x.cr2Lo[j]!, x.cr2Hi[j]!), bounced: xBounced[j] === true, handler: u64(x.handlerLo[j]!, x.handlerHi[j]!) };
        break;
      }
      case 'timer':
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, deadline: tDeadline[it++]! };
        break;
      case 'sched': {
        const j = ic++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, what: str(cWhat[j]) as 'block', until: cUntil[j]! };
        const rings = cRings === null ? [] : unflatten(cRings(), 'ring');
        if (rings.length > 0) e.rings = rings;
        break;
      }
      case 'console':
      case 'input':
      case 'milestone': {
        const j = it3[kind]++;
        const source = str(textSource[kind][j]);
        const t = textOf[kind](j);
        e = kind === 'console' ? { seq, time, dom: d, vcpu: v, icount, rip, kind, text: t, source: source as 'ring' }
          : kind === 'input' ? { seq, time, dom: d, vcpu: v, icount, rip, kind, source, text: t } : { seq, time, dom: d, vcpu: v, icount, rip, kind, text: t };
        break;
      }
      case 'xenstore': {
        const j = iz++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, op: str(z.opStr[j]), txId: z.txId[j]!, path: str(z.pathStr[j]), value: zValue(j), result: str(z.resultStr[j]) };
        break;
      }
      case 'ring': {
        const j = ir++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, ring: str(r.ringKindStr[j]) as 'blkif', frontDom: r.frontDom[j]!, backDom: r.backDom[j]!, gref: r.gref[j]!, port: r.port[j]!,
          reqProdBefore: r.reqProdBefore[j]!, reqProdAfter: r.reqProdAfter[j]!, rspProdBefore: r.rspProdBefore[j]!, rspProdAfter: r.rspProdAfter[j]!, reqCons: r.reqCons[j]!, rspCons: r.rspCons[j]!, slots: unflatten(rSlots()) };
        const seen = str(r.seenStr[j]);
        if (seen !== '') e.seen = seen as 'notify';
        const n = r.entries[j];
        if (n !== undefined && n !== 0) e.entries = n;
        break;
      }
      case 'domain_state': {
        const j = ids++;
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, state: str(dState[j]) as 'shutdown', reason: str(dReason[j]) };
        break;
      }
      case 'grants': {
        const f = gEntries();
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, granted: unflatten(f, 'granted'), mapped: unflatten(f, 'mapped') };
        break;
      }
      case 'net': {
        const j = inet++;
        const f = nFrame[j] ?? new Uint8Array(0);
        e = { seq, time, dom: d, vcpu: v, icount, rip, kind, bridge: str(n.bridgeStr[j]), src: str(n.srcStr[j]), dst: str(n.dstStr[j]), frame: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) };
        break;
      }
      default:
        throw new Error(`unknown event kind ${kinds[i]}`);
    }
    const sid = stackId[i] ?? 0;
    if (sid > 0) e.stack = stacks[sid - 1];
    if (exactEvent[xe] === i) {
      xe++;
      Object.assign(e, exactFields());
    }
    out[i] = e;
  }
  return out;
}
