/**
 * Normalized events: what two runs of possibly different kernel builds are
 * compared on. Addresses move between builds and machine frames between
 * seeds, so a normalized event keeps only what means the same in both:
 *
 *   every kind   dom, vcpu, at (the ELF symbol of the event's location --
 *                symbols.ts eventLocation: the hypercall's caller for a
 *                hypercall and what Xen did for it -- without its offset; absent when the domain
 *                is not symbolized in both runs, `?` when the address is in
 *                no symbol); never seq, time, icount or the RIP itself
 *   hypercall    op (name), sub (sub-op name), result, arg.<decoded field>
 *                for every decoded argument that is not an address (below)
 *   evtchn_send  port, toDom, toPort, virq, masked (when set)
 *   evtchn_deliver ports
 *   exception    vector, errorCode, bounced (not cr2, not the handler)
 *   timer        nothing beyond the common fields (the deadline is a time)
 *   sched        what (not `until`, a time)
 *   console      source, text
 *   xenstore     op, txId, path, value, result
 *   ring         ring, frontDom, backDom, port, reqDelta, rspDelta (index
 *                advances, not the indices), slot[i].<decoded field> minus
 *                grefs, ring indices and addresses; seen; entries
 *   domain_state state, reason
 *   input        source, text;  milestone  text
 *   grants       granted[i].<field>, mapped[i].<field> minus frames
 *   net          bridge, src, dst, frame (its bytes, in hex)
 *
 * Dropped from decoded arguments and ring slots: every 64-bit (U64) value
 * except `sector_number`, and every field whose name (or a component of its
 * dotted name) is in ADDRESS_KEYS or TIME_KEYS, whatever its type. Hex
 * literals in console text (`mfn 0x7c8`) are masked to `0x…`, and printk
 * time stamps (`[    1.603485]`, a time) to `[…]`.
 *
 * `--ignore` names: a name drops every field whose dotted name, or one of
 * whose components, equals it with list indices removed: `port` drops the
 * port of evtchn_send and ring events and a hypercall's arg.port; `arg`
 * drops all decoded hypercall arguments; `slot` all ring slots; `at` the
 * symbols; `arg.port` only that field.
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import { eventLocation } from './symbolize.js';

export type FieldValue = number | string | boolean;
export type Field = [name: string, value: FieldValue];

/** A normalized event: equal keys = the same event for the diff. */
export type Normalized = { kind: SimEvent['kind']; key: string };

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
  'masked', 'seen', 'entries', 'granted', 'mapped',
  'bridge', 'src', 'dst', 'frame',
];

const HEX = /0x[0-9a-fA-F]+/g;
/** printk's time prefix (`[    1.603485] `, CONFIG_PRINTK_TIME): the guest's clock, a time like any other. */
const PRINTK_TIME = /\[ *\d+\.\d{6}\]/g;
const maskText = (s: string): string => s.replace(HEX, '0x…').replace(PRINTK_TIME, '[…]');
const components = (name: string): string[] => name.replace(/\[\d+\]/g, '').split('.');

/** Decides, once per field name, whether a field is compared. */
export class FieldFilter {
  private readonly plain = new Map<string, boolean>();
  private readonly dec = new Map<string, 0 | 1 | 2>();
  constructor(private readonly ignore: ReadonlySet<string> = new Set()) {}

  /** Compared unless ignored by the user. */
  keep(name: string): boolean {
    let k = this.plain.get(name);
    if (k === undefined) {
      const parts = components(name);
      k = !this.ignore.has(parts.join('.')) && !parts.some((p) => this.ignore.has(p));
      this.plain.set(name, k);
    }
    return k;
  }

  /** A decoded argument or slot field: compared unless an address or a time (or a 64-bit value), or ignored. */
  keepDecoded(name: string, v: Decoded[string]): boolean {
    // 0: never, 1: unless 64-bit, 2: always
    let k = this.dec.get(name);
    if (k === undefined) {
      const parts = components(name);
      k = parts.some((p) => ADDRESS_KEYS.has(p) || TIME_KEYS.has(p)) || !this.keep(name) ? 0 : KEEP_U64.has(parts[parts.length - 1]!) ? 2 : 1;
      this.dec.set(name, k);
    }
    return k === 2 || (k === 1 && typeof v !== 'bigint');
  }
}

/**
 * Normalizes events of one run; `locate` resolves symbols for that run.
 * `normalize` builds only the key (the hot path); `fields` lists the same
 * fields as name/value pairs, for reports.
 */
export class Normalizer {
  private key = '';
  private out: Field[] | null = null;

  constructor(private readonly filter: FieldFilter, private readonly locate: Locator) {}

  normalize(e: SimEvent): Normalized {
    this.out = null;
    this.walk(e);
    return { kind: e.kind, key: this.key };
  }

  fields(e: SimEvent): Field[] {
    const out: Field[] = [];
    this.out = out;
    this.walk(e);
    this.out = null;
    return out;
  }

  /** Strings JSON-quoted in the key, so it is unambiguous (and readable): `kind name=value ...`. */
  private put(name: string, v: FieldValue): void {
    if (!this.filter.keep(name)) return;
    this.key += ` ${name}=${typeof v === 'string' ? JSON.stringify(v) : v}`;
    this.out?.push([name, v]);
  }

  private walk(e: SimEvent): void {
    this.key = e.kind;
    this.put('dom', e.dom);
    this.put('vcpu', e.vcpu);
    if (e.dom >= 0) {
      const at = this.locate(e.dom, eventLocation(e));
      if (at !== null) this.put('at', at);
    }
    switch (e.kind) {
      case 'hypercall':
        this.put('op', e.name);
        if (e.subName !== '' || e.sub >= 0) this.put('sub', e.subName !== '' ? e.subName : e.sub);
        this.put('result', e.result);
        this.decoded('arg', e.decoded, e.name === 'console_io');
        break;
      case 'evtchn_send':
        this.put('port', e.port);
        this.put('toDom', e.toDom);
        this.put('toPort', e.toPort);
        this.put('virq', e.virq);
        if (e.masked) this.put('masked', true);
        break;
      case 'evtchn_deliver':
        this.put('ports', e.ports.join(','));
        break;
      case 'exception':
        this.put('vector', e.vector);
        this.put('errorCode', e.errorCode);
        this.put('bounced', e.bounced);
        break;
      case 'timer':
        break;
      case 'sched':
        this.put('what', e.what);
        break;
      case 'console':
        this.put('source', e.source);
        this.put('text', maskText(e.text));
        break;
      case 'xenstore':
        this.put('op', e.op);
        this.put('txId', e.txId);
        this.put('path', e.path);
        this.put('value', e.value);
        this.put('result', e.result);
        break;
      case 'ring':
        this.put('ring', e.ring);
        this.put('frontDom', e.frontDom);
        this.put('backDom', e.backDom);
        this.put('port', e.port);
        this.put('reqDelta', (e.reqProdAfter - e.reqProdBefore) >>> 0);
        this.put('rspDelta', (e.rspProdAfter - e.rspProdBefore) >>> 0);
        for (let i = 0; i < e.slots.length; i++) this.decoded(`slot[${i}]`, e.slots[i]!, e.ring === 'console');
        if (e.seen !== undefined) this.put('seen', e.seen);
        if (e.entries !== undefined) this.put('entries', e.entries);
        break;
      case 'domain_state':
        this.put('state', e.state);
        this.put('reason', e.reason);
        break;
      case 'input':
        this.put('source', e.source);
        this.put('text', e.text);
        break;
      case 'milestone':
        this.put('text', e.text);
        break;
      case 'grants':
        for (let i = 0; i < e.granted.length; i++) this.decoded(`granted[${i}]`, e.granted[i]!, false);
        for (let i = 0; i < e.mapped.length; i++) this.decoded(`mapped[${i}]`, e.mapped[i]!, false);
        break;
      case 'net':
        this.put('bridge', e.bridge);
        this.put('src', e.src);
        this.put('dst', e.dst);
        this.put('frame', Buffer.from(e.frame).toString('hex'));
        break;
    }
  }

  /** Decoded values as `prefix.name` fields (nested records and lists flattened as the trace stores them). */
  private decoded(prefix: string, d: Decoded, text: boolean): void {
    for (const k in d) {
      const v = d[k]!;
      const name = `${prefix}.${k}`;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const item = v[i]!;
          if (typeof item === 'object') this.decoded(`${name}[${i}]`, item, text);
          else if (this.filter.keepDecoded(`${name}[${i}]`, item)) this.put(`${name}[${i}]`, item);
        }
      } else if (typeof v === 'object') this.decoded(name, v, text);
      else if (this.filter.keepDecoded(name, v)) this.put(name, typeof v === 'bigint' ? `0x${v.toString(16)}` : typeof v === 'string' && text && k === 'text' ? maskText(v) : v);
    }
  }
}

/** A field that differs between two events (null: absent on that side). */
export type FieldChange = { field: string; a: FieldValue | null; b: FieldValue | null };

/** The fields that differ between two events' field lists, in order of appearance. */
export function changedFields(a: Field[], b: Field[]): FieldChange[] {
  const bm = new Map(b);
  const am = new Map(a);
  const out: FieldChange[] = [];
  for (const [n, v] of a) if (bm.get(n) !== v) out.push({ field: n, a: v, b: bm.get(n) ?? null });
  for (const [n, v] of b) if (!am.has(n)) out.push({ field: n, a: null, b: v });
  return out;
}
