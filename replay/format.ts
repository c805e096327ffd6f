/**
 * One-line summaries of events, as `xenrr dump` prints them and the TUI
 * and diff show them: `EVTCHNOP_send port=3 -> 0`.
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import { describeFrame } from './net-summary.js';
import { DOMID_COW, DOMID_IDLE, DOMID_INVALID, DOMID_IO, DOMID_SELF, DOMID_XEN } from '../sim/xen/public/xen.js';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** The reserved domain ids, by name, as a kernel developer reads them. */
const DOMID_NAMES: Record<number, string> = {
  [DOMID_SELF]: 'DOMID_SELF', [DOMID_IO]: 'DOMID_IO', [DOMID_XEN]: 'DOMID_XEN', [DOMID_COW]: 'DOMID_COW', [DOMID_INVALID]: 'DOMID_INVALID', [DOMID_IDLE]: 'DOMID_IDLE',
};
/** Decoded fields that hold a domain id. */
const DOMID_FIELD = /^(dom|domid|remote_dom)$/;

function value(v: Decoded[string], key = ''): string {
  if (typeof v === 'number' && DOMID_FIELD.test(key) && DOMID_NAMES[v] !== undefined) return DOMID_NAMES[v]!;
  if (typeof v === 'bigint') return hex(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'object' ? '{..}' : String(x))).join(',')}]`;
  if (typeof v === 'object') return '{..}';
  return String(v);
}

export function fields(d: Decoded, max = 6): string {
  const parts = Object.entries(d).slice(0, max).map(([k, v]) => `${k}=${value(v, k)}`);
  if (Object.keys(d).length > max) parts.push('...');
  return parts.join(' ');
}

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 28: 'ENOSPC', 38: 'ENOSYS', 62: 'ETIME', 95: 'EOPNOTSUPP' };
export const result = (r: number): string => (r < 0 ? `-${ERRNO[-r] ?? -r}` : String(r));

/** The decoded part of an event, without its position. */
export function summary(e: SimEvent): string {
  switch (e.kind) {
    case 'hypercall': {
      const what = e.subName !== '' ? e.subName : e.name;
      const f = fields(e.decoded);
      return `${what}${f ? ` ${f}` : ''} -> ${result(e.result)}`;
    }
    case 'evtchn_send':
      return `${e.virq >= 0 ? `VIRQ ${e.virq} port=${e.port}` : `send port=${e.port} -> ${e.toDom < 0 ? 'unbound' : `dom${e.toDom}:${e.toPort}`}`}${e.masked ? ' (masked)' : ''}`;
    case 'evtchn_deliver':
      return `upcall ports=[${e.ports.join(',')}]`;
    case 'exception':
      return `#${e.vector} err=${hex(e.errorCode)}${e.vector === 14 ? ` cr2=${hex(e.cr2)}` : ''} ${e.bounced ? `-> ${hex(e.handler)}` : 'unhandled'}`;
    case 'timer':
      return `timer deadline=${e.deadline}`;
    case 'sched':
      return `${e.what}${e.until >= 0 ? ` until=${e.until}` : ''}${e.rings ? ` ${e.rings.map((r) => `[${r.ring} gref ${r.gref} req ${r.req_prod}/ev ${r.req_event} rsp ${r.rsp_prod}/ev ${r.rsp_event}]`).join(' ')}` : ''}`;
    case 'console':
      return `${e.source === 'ring' ? 'console' : 'console_io'} ${JSON.stringify(e.text)}`;
    case 'xenstore':
      return `XS_${e.op} ${e.path}${e.value ? ` = ${JSON.stringify(e.value.length > 40 ? `${e.value.slice(0, 37)}...` : e.value)}` : ''}${e.txId ? ` tx=${e.txId}` : ''} -> ${e.result}`;
    case 'ring':
      // dom0's own xenstore ring is served by the xenstore stub domain, not by dom0.
      return `${e.ring} dom${e.frontDom}->${e.ring === 'xenstore' && e.backDom === e.frontDom ? 'xenstored' : `dom${e.backDom}`} req ${e.reqProdBefore}->${e.reqProdAfter} rsp ${e.rspProdBefore}->${e.rspProdAfter} (${e.slots.length} slots${e.seen && e.seen !== 'notify' ? `, seen at ${e.seen}` : ''})`;
    case 'domain_state':
      return `domain ${e.state}${e.reason ? ` (${e.reason})` : ''}`;
    case 'input':
      return `input ${e.source} ${JSON.stringify(e.text)}`;
    case 'milestone':
      return e.text;
    case 'grants':
      return `grants: ${e.granted.length} granted${e.granted.length ? ` (${e.granted.map((g) => `${g.ref}->d${g.domid}${(Number(g.flags) & 24) !== 0 ? ' mapped' : ''}`).join(', ')})` : ''}, ${e.mapped.length} mapped${e.mapped.length ? ` (${e.mapped.map((m) => `d${m.dom}:${m.ref}`).join(', ')})` : ''}`;
    case 'net':
      return `${e.bridge} ${e.src} -> ${e.dst === '' ? '(filtered)' : e.dst}: ${describeFrame(e.frame)}`;
  }
}

/** The filter words `--kind` accepts, mapped to event kinds: every kind by its own name (as `info` prints it), and shorter words. */
export const KIND_ALIASES: Record<string, SimEvent['kind'][]> = {
  hypercall: ['hypercall'], evtchn_send: ['evtchn_send'], evtchn_deliver: ['evtchn_deliver'], domain_state: ['domain_state'],
  event: ['evtchn_send', 'evtchn_deliver'], evtchn: ['evtchn_send', 'evtchn_deliver'],
  send: ['evtchn_send'], deliver: ['evtchn_deliver'], exception: ['exception'], timer: ['timer'], sched: ['sched'],
  console: ['console'], xenstore: ['xenstore'], ring: ['ring'], domain: ['domain_state'], state: ['domain_state'],
  input: ['input'], milestone: ['milestone'], grants: ['grants'], grant: ['grants'], net: ['net'], frame: ['net'],
};
