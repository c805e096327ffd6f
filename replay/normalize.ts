/**
 * Normalized events: what two runs of possibly different kernel builds are
 * compared on. Addresses move between builds and machine frames between
 * seeds, so a normalized event keeps only what means the same in both:
 *
 *   every kind   dom, vcpu, at (the ELF symbol of the RIP -- of `caller` for
 *                a hypercall -- without its offset; absent when the domain
 *                is not symbolized in both runs, `?` when the address is in
 *                no symbol); never seq, time, icount or the RIP itself
 *   hypercall    op (name), sub (sub-op name), result, arg.<decoded field>
 *                for every decoded argument that is not an address (below)
 *   evtchn_send  port, toDom, toPort, virq
 *   evtchn_deliver ports
 *   exception    vector, errorCode, bounced (not cr2, not the handler)
 *   timer        nothing beyond the common fields (the deadline is a time)
 *   sched        what (not `until`, a time)
 *   console      source, text
 *   xenstore     op, txId, path, value, result
 *   ring         ring, frontDom, backDom, port, reqDelta, rspDelta (index
 *                advances, not the indices), slot[i].<decoded field> minus
 *                grefs, ring indices and addresses
 *   domain_state state, reason
 *   input        source, text;  milestone  text
 *
 * Dropped from decoded arguments and ring slots: every 64-bit (U64) value
 * except `sector_number`, and every field whose name (or a component of its
 * dotted name) is in ADDRESS_KEYS or TIME_KEYS, whatever its type. Hex
 * literals in console text (`mfn 0x7c8`) are masked to `0x…`.
 *
 * `--ignore` names: a name drops every field whose dotted name, or one of
 * whose components, equals it with list indices removed: `port` drops the
 * port of evtchn_send and ring events and a hypercall's arg.port; `arg`
 * drops all decoded hypercall arguments; `slot` all ring slots; `at` the
 * symbols; `arg.port` only that field.
 */
import type { Decoded, SimEvent } from '../sim/events.js';

export type FieldValue = number | string | boolean;
export type Field = [name: string, value: FieldValue];

/** A normalized event: equal keys = the same event for the diff. */
export type Normalized = { kind: SimEvent['kind']; key: string; fields: Field[] };

/** Symbol name (no offset) of `addr` in `dom`; null: locations are not compared for this domain. */
export type Locator = (dom: number, addr: bigint) => string | null;

/** Field names (last component) that hold addresses, frame numbers or raw pointers. */
export const ADDRESS_KEYS: ReadonlySet<string> = new Set([
  'va', 'val', 'ptr', 'addr', 'address', 'host_addr', 'dev_bus_addr', 'mfn', 'gmfn', 'frame', 'frames', 'gpfn', 'gfn', 'pfn',
  'idx', 'ma', 'desc', 'base', 'cr2', 'rip', 'sp', 'handler', 'list', 'updates', 'arg1', 'arg2', 'event', 'failsafe', 'syscall', 'gref',
]);
/** Field names that hold absolute virtual times. */
export const TIME_KEYS: ReadonlySet<string> = new Set(['timeout', 'deadline', 'until']);
/** 64-bit values that are not addresses. */
const KEEP_U64: ReadonlySet<string> = new Set(['sector_number']);

/** Every fixed field name, for `--ignore` help and checks (decoded argument names come on top). */
export const FIELD_NAMES: readonly string[] = [
  'dom', 'vcpu', 'at', 'op', 'sub', 'result', 'arg', 'port', 'toDom', 'toPort', 'virq', 'ports', 'vector', 'errorCode', 'bounced',
  'what', 'source', 'text', 'txId', 'path', 'value', 'state', 'reason', 'ring', 'frontDom', 'backDom', 'reqDelta', 'rspDelta', 'slot',
];

const HEX = /0x[0-9a-fA-F]+/g;
const maskHex = (s: string): string => s.replace(HEX, '0x…');
const components = (name: string): string[] => name.replace(/\[\d+\]/g, '').split('.');

/** Decides, once per field name, whether a field is compared. */
export class FieldFilter {
  private readonly cache = new Map<string, boolean>();
  constructor(private readonly ignore: ReadonlySet<string> = new Set()) {}

  /** Compared unless ignored by the user. */
  keep(name: string): boolean {
    let k = this.cache.get(name);
    if (k === undefined) {
      const parts = components(name);
      k = !this.ignore.has(parts.join('.')) && !parts.some((p) => this.ignore.has(p));
      this.cache.set(name, k);
    }
    return k;
  }

  /** Compared at all: not an address or a time (decoded arguments and slots), not ignored. */
  keepDecoded(name: string, v: Decoded[string]): boolean {
    const parts = components(name);
    const last = parts[parts.length - 1]!;
    if (typeof v === 'bigint' && !KEEP_U64.has(last)) return false;
    if (parts.some((p) => ADDRESS_KEYS.has(p) || TIME_KEYS.has(p))) return false;
    return this.keep(name);
  }
}

/** Normalizes events of one run; `locate` resolves symbols for that run. */
export class Normalizer {
  constructor(private readonly filter: FieldFilter, private readonly locate: Locator) {}

  normalize(e: SimEvent): Normalized {
    const f: Field[] = [];
    const put = (name: string, v: FieldValue): void => {
      if (this.filter.keep(name)) f.push([name, v]);
    };
    put('dom', e.dom);
    put('vcpu', e.vcpu);
    if (e.dom >= 0) {
      const at = this.locate(e.dom, e.kind === 'hypercall' && e.caller !== 0n ? e.caller : e.rip);
      if (at !== null) put('at', at);
    }
    switch (e.kind) {
      case 'hypercall':
        put('op', e.name);
        if (e.subName !== '' || e.sub >= 0) put('sub', e.subName !== '' ? e.subName : e.sub);
        put('result', e.result);
        this.decoded(f, 'arg', e.decoded, e.name === 'console_io');
        break;
      case 'evtchn_send':
        put('port', e.port);
        put('toDom', e.toDom);
        put('toPort', e.toPort);
        put('virq', e.virq);
        break;
      case 'evtchn_deliver':
        put('ports', e.ports.join(','));
        break;
      case 'exception':
        put('vector', e.vector);
        put('errorCode', e.errorCode);
        put('bounced', e.bounced);
        break;
      case 'timer':
        break;
      case 'sched':
        put('what', e.what);
        break;
      case 'console':
        put('source', e.source);
        put('text', maskHex(e.text));
        break;
      case 'xenstore':
        put('op', e.op);
        put('txId', e.txId);
        put('path', e.path);
        put('value', e.value);
        put('result', e.result);
        break;
      case 'ring':
        put('ring', e.ring);
        put('frontDom', e.frontDom);
        put('backDom', e.backDom);
        put('port', e.port);
        put('reqDelta', (e.reqProdAfter - e.reqProdBefore) >>> 0);
        put('rspDelta', (e.rspProdAfter - e.rspProdBefore) >>> 0);
        e.slots.forEach((s, i) => this.decoded(f, `slot[${i}]`, s, e.ring === 'console'));
        break;
      case 'domain_state':
        put('state', e.state);
        put('reason', e.reason);
        break;
      case 'input':
        put('source', e.source);
        put('text', e.text);
        break;
      case 'milestone':
        put('text', e.text);
        break;
    }
    return { kind: e.kind, key: keyOf(e.kind, f), fields: f };
  }

  /** Decoded values as `prefix.name` fields (nested records and lists flattened as the trace stores them). */
  private decoded(f: Field[], prefix: string, d: Decoded, text: boolean): void {
    for (const [k, v] of Object.entries(d)) {
      const name = `${prefix}.${k}`;
      if (Array.isArray(v)) {
        v.forEach((item, i) => {
          if (typeof item === 'object') this.decoded(f, `${name}[${i}]`, item, text);
          else if (this.filter.keepDecoded(`${name}[${i}]`, item)) f.push([`${name}[${i}]`, item]);
        });
      } else if (typeof v === 'object') this.decoded(f, name, v, text);
      else if (this.filter.keepDecoded(name, v)) f.push([name, typeof v === 'string' && text && k === 'text' ? maskHex(v) : (v as FieldValue)]);
    }
  }
}

/** `kind name=value ...`: strings JSON-quoted, so the key is unambiguous (and readable). */
function keyOf(kind: string, f: Field[]): string {
  let s = kind;
  for (const [n, v] of f) s += ` ${n}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`;
  return s;
}

/** Names of the fields that differ between two normalized events (in order of appearance). */
export function changedFields(a: Normalized, b: Normalized): string[] {
  const bm = new Map(b.fields.map(([n, v]) => [n, v]));
  const out: string[] = [];
  for (const [n, v] of a.fields) if (!bm.has(n) || bm.get(n) !== v) out.push(n);
  const am = new Set(a.fields.map(([n]) => n));
  for (const [n] of b.fields) if (!am.has(n)) out.push(n);
  return out;
}
