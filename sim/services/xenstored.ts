/**
 * xenstored: the dom0 xenstore daemon of the simulated Xen, as a
 * deterministic in-memory tree. Protocol: docs/misc/xenstore.txt; where the
 * document leaves a choice, behaviour follows C xenstored (tools/xenstored,
 * Xen 4.20-era): the errno names, their precedence and the quirks below.
 *
 * Requests and errors
 * - Type dispatch: an unknown or unsupported type (WATCH_EVENT, ERROR, 20,
 *   GET/SET_FEATURE, GET/SET_QUOTA, >= 27) gets ENOSYS; then privileged-only
 *   types (CONTROL, INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, RESUME,
 *   SET_TARGET) from an unprivileged caller get EACCES; then, except for
 *   WATCH/UNWATCH, a non-zero tx_id that names no open transaction gets
 *   ENOENT. CONTROL from dom0 gets EINVAL (no control commands exist).
 * - Arguments: single-path requests need exactly one NUL, at the end, else
 *   EINVAL. Paths: [A-Za-z0-9-/_@] only, no "//", no trailing "/" (except "/"),
 *   '@' only where special nodes are allowed (WATCH, UNWATCH, GET/SET_PERMS);
 *   relative paths get "/local/domain/<caller>/" prepended; for unprivileged
 *   callers the length after any "/local/domain/<id>/" prefix must be < 2048.
 * - Permissions (first entry = owner + default for everyone else; the owner,
 *   privileged callers, and a SET_TARGET'ed domain for its target's nodes get
 *   everything; DOMID_ANY entries match every domain). A missing node answers
 *   ENOENT only when the nearest existing ancestor grants the caller the
 *   requested access, else EACCES (xenstored hides what you cannot see).
 * - Created nodes (WRITE/MKDIR and their missing parents) copy their parent's
 *   permissions; an unprivileged creator becomes the owner (entry 0's id).
 * - Quotas apply to unprivileged callers only, "exceeded when value >= limit"
 *   as xenstored counts: nodes owned (ENOSPC; counted including the nodes the
 *   same request creates), watches (ENOSPC), open transactions (ENOSPC),
 *   nodes touched by one transaction (ENOSPC, and the transaction is failed:
 *   its commit answers ENOMEM), permission entries (ENOSPC), node size
 *   16 + 8*perms + value + child names (ENOSPC), path length (EINVAL).
 * - A reply longer than XENSTORE_PAYLOAD_MAX becomes E2BIG (side effects stay).
 * - RM of a missing node is OK if its parent exists, else ENOENT; RM "/" is
 *   EINVAL. MKDIR of an existing node is OK and fires nothing.
 *
 * Deliberate differences from xenstored: children are kept in byte order
 * (DIRECTORY output and RM walks are sorted; xenstored keeps insertion
 * order); WATCH takes no <depth> argument (WATCHDEPTH is not offered, so a
 * third string is EINVAL as for a server without it); INTRODUCE does not
 * reset the ring page (the transport is separate: see xs-ring.ts); all
 * domids count as existing for permission entries.
 *
 * Transactions: per-node generation counts as xenstored does. Every node a
 * transaction looks at (including missing ones, parents consulted for
 * permission errors and subtree walks) is snapshotted at first access; the
 * commit fails with EAGAIN if any of them changed, appeared or vanished in the
 * global tree since. The transaction is gone after END whatever the answer.
 * Watches fired inside a transaction fire at commit, in first-access order.
 *
 * Watches: a change fires every watch on the node or an ancestor (RM fires
 * exact-match watches on each removed descendant, children first, then the
 * removed root as a subtree change). A watcher only hears about nodes it can
 * read (the node, or its parent, or for SET_PERMS the old permissions). The
 * event path is relative iff the watch was registered relative. WATCH queues
 * one initial event right after its reply. @introduceDomain /
 * @releaseDomain (and "@xxxDomain/<domid>") fire exact-match only, to
 * watchers allowed to read the special node: by default "@releaseDomain" is
 * readable by all (n0, r DOMID_ANY), "@introduceDomain" by dom0 only. As in
 * xenstored, a new event identical to one still queued (not yet taken by the
 * transport) is dropped, except special ones; events over the payload limit
 * are dropped.
 *
 * Domains: every domid may talk to the store (introduction is not required);
 * all domids count as existing for permission entries.
 */

import * as W from '../xen/public/io/xs_wire.js';
import { XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX } from '../xen/public/io/xs_wire.js';
import { DOMID_SELF } from '../xen/public/xen.js';

/** Message types (io/xs_wire.h XS_*), by name without the prefix. */
export const XS = {
  CONTROL: W.XS_CONTROL, DIRECTORY: W.XS_DIRECTORY, READ: W.XS_READ, GET_PERMS: W.XS_GET_PERMS, WATCH: W.XS_WATCH,
  UNWATCH: W.XS_UNWATCH, TRANSACTION_START: W.XS_TRANSACTION_START, TRANSACTION_END: W.XS_TRANSACTION_END,
  INTRODUCE: W.XS_INTRODUCE, RELEASE: W.XS_RELEASE, GET_DOMAIN_PATH: W.XS_GET_DOMAIN_PATH, WRITE: W.XS_WRITE,
  MKDIR: W.XS_MKDIR, RM: W.XS_RM, SET_PERMS: W.XS_SET_PERMS, WATCH_EVENT: W.XS_WATCH_EVENT, ERROR: W.XS_ERROR,
  IS_DOMAIN_INTRODUCED: W.XS_IS_DOMAIN_INTRODUCED, RESUME: W.XS_RESUME, SET_TARGET: W.XS_SET_TARGET,
  RESET_WATCHES: W.XS_RESET_WATCHES, DIRECTORY_PART: W.XS_DIRECTORY_PART,
  // Types of later Xens (not in 4.17's xs_wire.h, whose XS_TYPE_COUNT is 23): this store answers them ENOSYS.
  GET_FEATURE: W.XS_TYPE_COUNT, SET_FEATURE: W.XS_TYPE_COUNT + 1, GET_QUOTA: W.XS_TYPE_COUNT + 2, SET_QUOTA: W.XS_TYPE_COUNT + 3,
} as const;
// xenstore_lib.h (a tools header, not Xen's public ABI): permission bits, and xenstored's wildcard domid.
const PERM_READ = 1, PERM_WRITE = 2, PERM_OWNER = 8;
const DOMID_ANY = 0x7ff5;

export type XsMsg = { type: number; reqId: number; txId: number; payload: Uint8Array };
/** A decoded record of what happened, for the trace: op name, tx, path
 * (canonical when valid, else as sent), value (text, printable ASCII with
 * \xNN escapes, truncated to 96 chars), result ("OK" or the XS error name). */
export type XsRecord = { op: string; txId: number; path: string; value: string; result: string };

/** Per-domain limits for unprivileged callers (xenstored's hard quotas). */
export type XsQuota = {
  nodes: number; watches: number; transactions: number; transactionNodes: number;
  perms: number; nodeSize: number; pathLen: number;
};
export const XS_DEFAULT_QUOTA: XsQuota = {
  nodes: 1000, watches: 128, transactions: 10, transactionNodes: 1024,
  perms: 5, nodeSize: 2048, pathLen: XENSTORE_REL_PATH_MAX,
};

/** Type number -> name; 20 is the retired XS_RESTRICT, kept for the trace's sake. */
const OP_NAMES: string[] = [];
for (const [name, type] of Object.entries(XS)) OP_NAMES[type] = name;
OP_NAMES[XS.SET_TARGET + 1] = 'RESTRICT';
/** Request types this store implements (the rest are ENOSYS). */
const SUPPORTED = new Set<number>(Object.values(XS).filter((t) => t !== XS.WATCH_EVENT && t !== XS.ERROR && t < W.XS_TYPE_COUNT));
const PRIV_ONLY = new Set<number>([XS.CONTROL, XS.INTRODUCE, XS.RELEASE, XS.IS_DOMAIN_INTRODUCED, XS.RESUME, XS.SET_TARGET]);

type Perm = { readonly id: number; readonly bits: number };
/** Nodes are immutable values: every change makes a new object with a fresh generation. */
type XsNode = { readonly value: Uint8Array; readonly perms: readonly Perm[]; readonly children: readonly string[]; readonly gen: number };
const NO_GEN = -1, EXACT = 1, SUBTREE = 2;
type Match = typeof EXACT | typeof SUBTREE;
/** What a transaction knows about one node: its private copy and the global generation at first access. */
type Access = { node: XsNode | undefined; gen: number; modified: boolean; fire: 0 | Match; oldPerms: readonly Perm[] | undefined };
type Tx = { id: number; acc: Map<string, Access>; fail: boolean };
type Watch = { path: string; token: string; prefix: number };
type Conn = {
  /** the connection's key (its domid, or XS_DOM0_RING_CONN) and the domain it speaks for */
  key: number; domid: number; priv: boolean; watches: Watch[]; txs: Map<number, Tx>; nextTx: number;
  events: { key: string; msg: XsMsg }[]; target: number | null;
};
/** Who is asking: a domain connection, or the toolstack (conn null, privileged, id 0). */
type Ctx = { conn: Conn | null; id: number; priv: boolean; target: number | null; tx: Tx | null };
type Found = { path: string; node: XsNode | undefined; err: string };

/** Internal failure carrying an XS error name; never escapes `request`. */
class XsFail {
  constructor(readonly code: string) {}
}
const fail = (code: string): never => {
  throw new XsFail(code);
};

const VALID_CHARS = /^[A-Za-z0-9\-/_@]*$/;
const EMPTY = new Uint8Array(0);
const home = (domid: number): string => `/local/domain/${domid}`;

/**
 * The connection key of a guest dom0's ring (a Linux dom0's xenbus client),
 * apart from connection 0, which the simulated dom0 services (toolstack,
 * backends) use. Both speak for domain 0; each has its own watches,
 * transactions and watch events. Beyond any domid (16 bits).
 */
export const XS_DOM0_RING_CONN = 0x10000;
const owner = (n: XsNode): number => n.perms[0]!.id;
/** xenstored's get_parent: "/a/b" -> "/a", "/a" -> "/", "@x" -> "/". */
const parentOf = (p: string): string => {
  const k = p.lastIndexOf('/');
  return k > 0 ? p.slice(0, k) : '/';
};
const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const childPath = (p: string, c: string): string => (p === '/' ? `/${c}` : `${p}/${c}`);
/** Watch match: child equals parent or lies below it ("/" covers every absolute path). */
const isChild = (c: string, p: string): boolean =>
  p === '/' ? c.startsWith('/') : c.startsWith(p) && (c.length === p.length || c[p.length] === '/');

export function latin1(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}
export function bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}
/** Every NUL-terminated string of a payload (bytes after the last NUL are ignored), as get_strings. */
function strings(p: Uint8Array): string[] {
  const out: string[] = [];
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === 0) (out.push(latin1(p, s, i)), (s = i + 1));
  return out;
}
/** The single argument of a payload with exactly one NUL, at its end; else null. */
function onearg(p: Uint8Array): string | null {
  return p.length > 0 && p.indexOf(0) === p.length - 1 ? latin1(p, 0, p.length - 1) : null;
}
/** Trace rendering of bytes: printable ASCII, "\0" and \xNN escapes, truncated. */
export function show(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length && s.length < 96; i++) {
    const c = b[i]!;
    s += c === 0 ? '\\0' : c === 0x5c ? '\\\\' : c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s.length >= 96 ? `${s.slice(0, 93)}...` : s;
}
const WS = '[ \\t\\n\\v\\f\\r]*';
/** C strtoul(s, &end, 10) with "*end == 0 && <= 65535" (parse_domid); -1 when invalid. "" parses as 0, as in C. */
function parseDomid(s: string): number {
  if (s === '') return 0;
  const m = new RegExp(`^${WS}([+-]?)([0-9]+)$`).exec(s);
  if (!m) return -1;
  const v = BigInt(m[2]!);
  if (m[1] === '-' && v !== 0n) return -1;
  return v > 65535n ? -1 : Number(v);
}
/** C atoi, as an unsigned int. */
function atoiU(s: string): number {
  const m = new RegExp(`^${WS}([+-]?[0-9]+)`).exec(s);
  return m ? Number(BigInt.asUintN(32, BigInt(m[1]!))) : 0;
}
/** C strtol(s, &end, 0) requiring the whole string, truncated to unsigned int; null when invalid. */
function strtolU32(s: string): number | null {
  const m = new RegExp(`^${WS}([+-]?)(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$`).exec(s);
  if (!m) return null;
  let v = m[2] !== undefined ? BigInt(`0x${m[2]}`) : m[3] !== undefined ? BigInt(`0o${m[3] || '0'}`) : BigInt(m[4]!);
  const max = (1n << 63n) - 1n;
  if (m[1] === '-') v = v > max + 1n ? -(max + 1n) : -v;
  else if (v > max) v = max;
  return Number(BigInt.asUintN(32, v));
}
const permString = (p: Perm): string => `${'nrwb'[p.bits & 3]}${p.id | 0}`;
function parsePerm(s: string): Perm | null {
  const bits = 'nrwb'.indexOf(s[0] ?? '');
  const id = bits < 0 || s.length < 2 ? null : strtolU32(s.slice(1));
  return id === null ? null : { id, bits };
}
const zstr = (s: string): Uint8Array => bytes(`${s}\0`);
/** A fresh "OK\0" (reply payloads are never shared with the store). */
const ok = (): Uint8Array => zstr('OK');

export class XenStore {
  private readonly nodes = new Map<string, XsNode>();
  /** Global node count per owner domid (quota accounting). */
  private readonly owned = new Map<number, number>();
  private readonly conns = new Map<number, Conn>();
  private readonly introduced = new Set<number>();
  private readonly quota: XsQuota;
  private gen = 0;
  private readonly tool: Ctx = { conn: null, id: 0, priv: true, target: null, tx: null };

  /** The tree xenstored starts with: "/", "/tool/xenstored", and the two special nodes. */
  constructor(quota: Partial<XsQuota> = {}) {
    this.quota = { ...XS_DEFAULT_QUOTA, ...quota };
    const n0: Perm[] = [{ id: 0, bits: 0 }];
    this.setGlobal('/', this.mk(EMPTY, n0, ['tool']));
    this.setGlobal('/tool', this.mk(EMPTY, n0, ['xenstored']));
    this.setGlobal('/tool/xenstored', this.mk(EMPTY, n0, []));
    this.setGlobal('@releaseDomain', this.mk(EMPTY, [n0[0]!, { id: DOMID_ANY, bits: PERM_READ }], []));
    this.setGlobal('@introduceDomain', this.mk(EMPTY, n0, []));
  }

  // ---- toolstack side (no permission checks, never inside a transaction) ----

  /** XS_INTRODUCE without a connection (the machine's toolstack sends it over dom0's:
   * toolstack/domain.ts): resets any connection state of `domid` and fires @introduceDomain (not for dom0). */
  introduceDomain(domid: number): void {
    this.introduce(domid);
  }

  /** The domain is gone for xenstored (XS_RELEASE or death): its watches, transactions and
   * queued events are dropped, then @releaseDomain fires. Its nodes stay (libxl removes them). */
  releaseDomain(domid: number): void {
    this.introduced.delete(domid);
    for (const [k, c] of this.conns) if (c.domid === domid) this.conns.delete(k);
    this.fireSpecial('@releaseDomain', domid);
  }

  /** Toolstack write of a UTF-8 value; missing parents are created (inheriting perms). */
  write(path: string, value: string): void {
    const p = this.toolPath(path);
    this.toolDo(() => this.writeAt(this.tool, p, new TextEncoder().encode(value), this.nodes.get(p)));
  }
  /** Toolstack read: the UTF-8 value, or null when the node does not exist. */
  read(path: string): string | null {
    const n = this.nodes.get(this.toolPath(path));
    return n ? new TextDecoder().decode(n.value) : null;
  }
  /** Toolstack recursive remove (missing is fine). */
  rm(path: string): void {
    const p = this.toolPath(path);
    const n = this.nodes.get(p);
    if (n && p !== '/') this.toolDo(() => this.rmAt(this.tool, p, n));
  }
  /** Toolstack SET_PERMS with perm strings such as ["n0", "r3"]. */
  setPerms(path: string, perms: string[]): void {
    const ps = perms.map(parsePerm);
    if (ps.length === 0 || ps.some((p) => p === null)) throw new RangeError(`xenstore: bad permissions ${perms.join(',')}`);
    this.toolDo(() => this.setPermsAt(this.tool, this.toolPath(path, true), ps as Perm[]));
  }

  /** Watch events queued for connection `key` (XS_WATCH_EVENT, payload "path\0token\0", req/tx id 0), oldest first; removes them. */
  takeWatchEvents(key: number): XsMsg[] {
    const c = this.conns.get(key);
    return c ? c.events.splice(0).map((e) => e.msg) : [];
  }
  /** Connections (keys) with queued watch events, ascending: the transports to service (and notify). */
  eventsPending(): number[] {
    return [...this.conns.values()].filter((c) => c.events.length > 0).map((c) => c.key).sort((a, b) => a - b);
  }
  /** Drop a connection's watches, transactions and queued events (xenstored's ignore_connection / conn reset). */
  resetConnection(key: number): void {
    const c = this.conns.get(key);
    if (c) (c.watches.length = 0), c.txs.clear(), (c.events.length = 0);
  }

  // ---- the wire protocol ----

  /** A request from `domid`; privileged = dom0 semantics. Exactly one reply: the type echoed
   * with req_id/tx_id copied, or XS_ERROR with "E...\0". Watch events go to the queues.
   * `key`: the connection (XS_DOM0_RING_CONN for a guest dom0's ring). */
  request(domid: number, privileged: boolean, msg: XsMsg, key = domid): { replies: XsMsg[]; record: XsRecord } {
    const conn = this.conn(key, domid);
    conn.priv = privileged;
    const op = OP_NAMES[msg.type] ?? `UNKNOWN(${msg.type})`;
    const record: XsRecord = { op, txId: msg.txId, path: '', value: '', result: 'OK' };
    const ctx: Ctx = { conn, id: domid, priv: privileged, target: conn.target, tx: null };
    let type = msg.type, payload: Uint8Array;
    try {
      if (!SUPPORTED.has(msg.type)) fail('ENOSYS');
      if (PRIV_ONLY.has(msg.type) && !privileged) fail('EACCES');
      if (msg.type !== XS.WATCH && msg.type !== XS.UNWATCH && msg.txId !== 0) ctx.tx = conn.txs.get(msg.txId) ?? fail('ENOENT');
      payload = this.dispatch(ctx, msg.type, msg.payload, record);
      if (payload.length > XENSTORE_PAYLOAD_MAX) fail('E2BIG');
    } catch (e) {
      if (!(e instanceof XsFail)) throw e;
      (type = XS.ERROR), (payload = zstr(e.code)), (record.result = e.code);
    }
    return { replies: [{ type, reqId: msg.reqId, txId: msg.txId, payload }], record };
  }

  // ---- request handlers ----

  private dispatch(ctx: Ctx, type: number, p: Uint8Array, r: XsRecord): Uint8Array {
    switch (type) {
      case XS.DIRECTORY: return this.hDirectory(ctx, p, r);
      case XS.READ: return this.hRead(ctx, p, r);
      case XS.GET_PERMS: return this.hGetPerms(ctx, p, r);
      case XS.WATCH: return this.hWatch(ctx, p, r);
      case XS.UNWATCH: return this.hUnwatch(ctx, p, r);
      case XS.TRANSACTION_START: return this.hTransactionStart(ctx, r);
      case XS.TRANSACTION_END: return this.hTransactionEnd(ctx, p, r);
      case XS.INTRODUCE: return this.hIntroduce(p, r);
      case XS.RELEASE: return this.hRelease(p, r, false);
      case XS.RESUME: return this.hRelease(p, r, true);
      case XS.GET_DOMAIN_PATH: return this.hGetDomainPath(p, r);
      case XS.WRITE: return this.hWrite(ctx, p, r);
      case XS.MKDIR: return this.hMkdir(ctx, p, r);
      case XS.RM: return this.hRm(ctx, p, r);
      case XS.SET_PERMS: return this.hSetPerms(ctx, p, r);
      case XS.IS_DOMAIN_INTRODUCED: return this.hIsIntroduced(p, r);
      case XS.SET_TARGET: return this.hSetTarget(p, r);
      case XS.RESET_WATCHES: return this.hResetWatches(ctx);
      case XS.DIRECTORY_PART: return this.hDirectoryPart(ctx, p, r);
      default: return fail('EINVAL'); // CONTROL: no control commands are implemented
    }
  }

  private hDirectory(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const n = this.need(ctx, onearg(p), PERM_READ, false, rec);
    return bytes(n.children.map((c) => `${c}\0`).join(''));
  }
  /** DIRECTORY_PART "<path>\0<offset>\0" -> "<gen>\0" + child names from byte offset (+ "\0" at the end of the list). */
  private hDirectoryPart(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    if (v.length !== 2) fail('EINVAL');
    const n = this.need(ctx, v[0]!, PERM_READ, false, rec);
    const list = n.children.map((c) => `${c}\0`).join(''), off = atoiU(v[1]!), gen = `${n.gen}\0`;
    if (off >= list.length) return bytes(`${gen}\0`);
    const max = XENSTORE_PAYLOAD_MAX - gen.length - 1;
    let len = 0;
    for (;;) {
      const nul = list.indexOf('\0', off + len);
      if (len + (nul - off - len) >= max) break;
      len = nul + 1 - off;
      if (off + len === list.length) break;
    }
    return bytes(gen + list.slice(off, off + len) + (off + len === list.length ? '\0' : ''));
  }
  private hRead(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const n = this.need(ctx, onearg(p), PERM_READ, false, rec);
    rec.value = show(n.value);
    return n.value.slice();
  }
  private hGetPerms(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const n = this.need(ctx, onearg(p), PERM_READ, true, rec);
    rec.value = n.perms.map(permString).join(',');
    return bytes(n.perms.map((x) => `${permString(x)}\0`).join(''));
  }
  /** WRITE "<path>\0<value bytes>". */
  private hWrite(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const nul = p.indexOf(0);
    if (nul < 0) fail('EINVAL');
    const value = p.slice(nul + 1);
    rec.path = latin1(p, 0, nul);
    rec.value = show(value);
    const f = this.lookup(ctx, rec.path, PERM_WRITE, false);
    rec.path = f.path;
    if (f.err && f.err !== 'ENOENT') fail(f.err);
    this.writeAt(ctx, f.path, value, f.node);
    return ok();
  }
  private hMkdir(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const f = this.lookup(ctx, onearg(p), PERM_WRITE, false);
    rec.path = f.path;
    if (f.node) return ok();
    if (f.err !== 'ENOENT') fail(f.err);
    this.create(ctx, f.path, EMPTY);
    this.fire(ctx, f.path, undefined, SUBTREE);
    return ok();
  }
  private hRm(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const f = this.lookup(ctx, onearg(p), PERM_WRITE, false);
    rec.path = f.path;
    if (!f.node) {
      if (f.err !== 'ENOENT') fail(f.err);
      return this.get(ctx, parentOf(f.path)) ? ok() : fail('ENOENT');
    }
    if (f.path === '/') fail('EINVAL');
    this.rmAt(ctx, f.path, f.node);
    return ok();
  }
  /** SET_PERMS "<path>\0<perm>\0...". */
  private hSetPerms(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    if (v.length < 2) fail('EINVAL');
    rec.path = v[0]!;
    rec.value = v.slice(1).join(',');
    if (!ctx.priv && v.length - 1 >= this.quota.perms) fail('ENOSPC');
    const perms = v.slice(1).map(parsePerm);
    if (perms.some((x) => x === null)) fail('EINVAL');
    this.setPermsAt(ctx, v[0]!, perms as Perm[], rec);
    return ok();
  }
  /** WATCH "<path>\0<token>\0"; the initial event is queued after the reply. */
  private hWatch(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    if (v.length !== 2) fail('EINVAL');
    const c = ctx.conn!, token = v[1]!;
    rec.value = show(bytes(token));
    rec.path = v[0]!;
    const path = (rec.path = this.canon(ctx, v[0]!, true));
    const relative = v[0]![0] !== '/' && v[0]![0] !== '@';
    if (c.watches.some((w) => w.path === path && w.token === token)) fail('EEXIST');
    if (!ctx.priv && c.watches.length + 1 >= this.quota.watches) fail('ENOSPC');
    const w: Watch = { path, token, prefix: relative ? home(ctx.id).length + 1 : 0 };
    c.watches.push(w);
    this.queueEvent(c, path.slice(w.prefix), token);
    return ok();
  }
  private hUnwatch(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    if (v.length !== 2) fail('EINVAL');
    rec.value = show(bytes(v[1]!));
    rec.path = v[0]!;
    const path = (rec.path = this.canon(ctx, v[0]!, true));
    const ws = ctx.conn!.watches, k = ws.findIndex((w) => w.path === path && w.token === v[1]);
    if (k < 0) fail('ENOENT');
    ws.splice(k, 1);
    return ok();
  }
  /** Ids count up per connection from 1, skipping 0 and ids in use. */
  private hTransactionStart(ctx: Ctx, rec: XsRecord): Uint8Array {
    const c = ctx.conn!;
    if (ctx.tx) fail('EBUSY');
    if (!ctx.priv && c.txs.size + 1 >= this.quota.transactions) fail('ENOSPC');
    let id = 0;
    while (id === 0 || c.txs.has(id)) (id = c.nextTx), (c.nextTx = (c.nextTx + 1) >>> 0);
    this.gen++;
    c.txs.set(id, { id, acc: new Map(), fail: false });
    rec.value = `${id}`;
    return zstr(`${id}`);
  }
  private hTransactionEnd(ctx: Ctx, p: Uint8Array, rec: XsRecord): Uint8Array {
    const arg = onearg(p), tx = ctx.tx;
    rec.value = arg ?? show(p);
    if (arg !== 'T' && arg !== 'F') fail('EINVAL');
    if (!tx) return fail('ENOENT');
    ctx.conn!.txs.delete(tx.id);
    ctx.tx = null;
    if (arg === 'T') this.commit(tx);
    return ok();
  }
  /** INTRODUCE "<domid>\0<gfn>\0<port>\0": gfn ignored, port must be non-zero. */
  private hIntroduce(p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    rec.value = v.join(' ');
    if (v.length < 3) fail('EINVAL');
    const domid = this.domidArg(v[0]!);
    if (atoiU(v[2]!) === 0) fail('EINVAL');
    this.introduce(domid);
    return ok();
  }
  /** RELEASE / RESUME "<domid>\0": not dom0, and introduced (else ENOENT). */
  private hRelease(p: Uint8Array, rec: XsRecord, resume: boolean): Uint8Array {
    const domid = this.domidArg(onearg(p), rec);
    if (domid === 0) fail('EINVAL');
    if (!this.introduced.has(domid)) fail('ENOENT');
    if (!resume) this.releaseDomain(domid);
    return ok();
  }
  private hGetDomainPath(p: Uint8Array, rec: XsRecord): Uint8Array {
    const path = home(this.domidArg(onearg(p), rec));
    rec.path = path;
    return zstr(path);
  }
  private hIsIntroduced(p: Uint8Array, rec: XsRecord): Uint8Array {
    const d = this.domidArg(onearg(p), rec);
    return zstr((rec.value = d === DOMID_SELF || d === 0 || this.introduced.has(d) ? 'T' : 'F'));
  }
  /** SET_TARGET "<domid>\0<target>\0": both must be introduced (or dom0). */
  private hSetTarget(p: Uint8Array, rec: XsRecord): Uint8Array {
    const v = strings(p);
    rec.value = v.join(' ');
    if (v.length < 2) fail('EINVAL');
    const [d, t] = [this.domidArg(v[0]!), this.domidArg(v[1]!)];
    if ([d, t].some((x) => x !== 0 && !this.introduced.has(x))) fail('ENOENT');
    this.conn(d).target = t;
    return ok();
  }
  private hResetWatches(ctx: Ctx): Uint8Array {
    ctx.conn!.watches.length = 0;
    ctx.conn!.txs.clear();
    return ok();
  }

  // ---- the tree ----

  private mk(value: Uint8Array, perms: readonly Perm[], children: readonly string[]): XsNode {
    return { value, perms, children, gen: ++this.gen };
  }
  private conn(key: number, domid = key): Conn {
    let c = this.conns.get(key);
    if (!c) this.conns.set(key, (c = { key, domid, priv: domid === 0, watches: [], txs: new Map(), nextTx: 1, events: [], target: null }));
    return c;
  }
  private introduce(domid: number): void {
    const fresh = domid !== 0 && !this.introduced.has(domid);
    if (domid !== 0) this.introduced.add(domid);
    this.resetConnection(domid);
    if (fresh) this.fireSpecial('@introduceDomain', domid);
  }
  private domidArg(s: string | null, rec?: XsRecord): number {
    if (rec) rec.value = s ?? '';
    const d = s === null ? -1 : parseDomid(s);
    return d < 0 ? fail('EINVAL') : d;
  }
  private toolPath(path: string, special = false): string {
    try {
      return this.canon(this.tool, path, special);
    } catch {
      throw new RangeError(`xenstore: invalid path ${JSON.stringify(path)}`);
    }
  }
  private toolDo(f: () => void): void {
    try {
      f();
    } catch (e) {
      throw e instanceof XsFail ? new RangeError(`xenstore: toolstack operation failed: ${e.code}`) : e;
    }
  }

  /** The node as `ctx` sees it; inside a transaction the first access snapshots it. */
  private get(ctx: Ctx, path: string): XsNode | undefined {
    const tx = ctx.tx;
    if (!tx) return this.nodes.get(path);
    const a = tx.acc.get(path);
    if (a) return a.node;
    if (!ctx.priv && tx.acc.size + 1 >= this.quota.transactionNodes) (tx.fail = true), fail('ENOSPC');
    const n = this.nodes.get(path);
    tx.acc.set(path, { node: n, gen: n ? n.gen : NO_GEN, modified: false, fire: 0, oldPerms: n?.perms });
    return n;
  }
  /** Replace or delete a node in `ctx`'s view (the caller has read it through `get` first). */
  private set(ctx: Ctx, path: string, n: XsNode | undefined): void {
    const a = ctx.tx?.acc.get(path);
    if (a) (a.node = n), (a.modified = true);
    else this.setGlobal(path, n);
  }
  private setGlobal(path: string, n: XsNode | undefined): void {
    const old = this.nodes.get(path);
    if (old) this.owned.set(owner(old), (this.owned.get(owner(old)) ?? 0) - 1);
    if (n) this.nodes.set(path, n), this.owned.set(owner(n), (this.owned.get(owner(n)) ?? 0) + 1);
    else this.nodes.delete(path);
  }
  private ownedBy(ctx: Ctx, d: number): number {
    let k = this.owned.get(d) ?? 0;
    for (const [p, a] of ctx.tx?.acc ?? []) {
      const g = this.nodes.get(p);
      if (a.modified) k += +(a.node !== undefined && owner(a.node) === d) - +(g !== undefined && owner(g) === d);
    }
    return k;
  }
  /** xenstored's perm_for_conn: READ/WRITE/OWNER bits `ctx` holds on a node. */
  private permFor(ctx: { id: number; priv: boolean; target: number | null }, perms: readonly Perm[]): number {
    const hits = (p: Perm): boolean => p.id === ctx.id || p.id === ctx.target || p.id === DOMID_ANY;
    if (ctx.priv || hits(perms[0]!)) return PERM_READ | PERM_WRITE | PERM_OWNER;
    for (let i = 1; i < perms.length; i++) if (hits(perms[i]!)) return perms[i]!.bits;
    return perms[0]!.bits;
  }
  private sizeCheck(ctx: Ctx, n: XsNode): XsNode {
    const size = 16 + 8 * n.perms.length + n.value.length + n.children.reduce((s, c) => s + c.length + 1, 0);
    return !ctx.priv && size >= this.quota.nodeSize ? fail('ENOSPC') : n;
  }

  /** Canonical absolute path, or EINVAL (xenstored's canonicalize). */
  private canon(ctx: Ctx, raw: string | null, special: boolean): string {
    if (raw === null || !VALID_CHARS.test(raw) || (raw[0] === '@' && !special)) return fail('EINVAL');
    const name = raw[0] === '/' || raw[0] === '@' ? raw : `${home(ctx.id)}/${raw}`;
    const local = /^\/local\/domain\/[0-9]{1,5}\//.exec(name)?.[0].length ?? 0;
    if ((name.endsWith('/') && name !== '/') || name.includes('//')) fail('EINVAL');
    return !ctx.priv && name.length - local >= this.quota.pathLen ? fail('EINVAL') : name;
  }
  /** Resolve and check access; err is '' on success, else ENOENT/EACCES as xenstored would reveal. */
  private lookup(ctx: Ctx, raw: string | null, perm: number, special: boolean): Found {
    const path = this.canon(ctx, raw, special);
    const node = this.get(ctx, path);
    if (node && (this.permFor(ctx, node.perms) & perm) === perm) return { path, node, err: '' };
    let p = path, anc: XsNode | undefined;
    do anc = this.get(ctx, (p = parentOf(p)));
    while (!anc && p !== '/');
    const err = anc && this.permFor(ctx, anc.perms) & perm ? (node ? 'EACCES' : 'ENOENT') : 'EACCES';
    return { path, node: undefined, err };
  }
  private need(ctx: Ctx, raw: string | null, perm: number, special: boolean, rec: XsRecord): XsNode {
    rec.path = raw ?? '';
    const f = this.lookup(ctx, raw, perm, special);
    rec.path = f.path;
    return f.node ?? fail(f.err);
  }

  /** WRITE semantics: replace the value of `existing`, or create the node and missing parents; fires. */
  private writeAt(ctx: Ctx, path: string, value: Uint8Array, existing: XsNode | undefined): void {
    if (existing) this.set(ctx, path, this.sizeCheck(ctx, this.mk(value, existing.perms, existing.children)));
    else this.create(ctx, path, value);
    this.fire(ctx, path, undefined, SUBTREE);
  }
  /** Create `path` (known missing) and its missing ancestors; all checks precede any change. */
  private create(ctx: Ctx, path: string, value: Uint8Array): void {
    const chain = [path];
    let parent: XsNode | undefined;
    while (!(parent = this.get(ctx, parentOf(chain[chain.length - 1]!)))) chain.push(parentOf(chain[chain.length - 1]!));
    if (!ctx.priv && this.ownedBy(ctx, ctx.id) + chain.length >= this.quota.nodes) fail('ENOSPC');
    const perms = ctx.priv ? parent.perms : [{ id: ctx.id, bits: parent.perms[0]!.bits }, ...parent.perms.slice(1)];
    const top = chain[chain.length - 1]!, pp = parentOf(top);
    const made: [string, XsNode][] = [[pp, this.withChild(parent, baseName(top), true)]];
    for (let i = chain.length - 1; i >= 0; i--) {
      made.push([chain[i]!, this.mk(i === 0 ? value : EMPTY, perms, i === 0 ? [] : [baseName(chain[i - 1]!)])]);
    }
    for (const [, n] of made) this.sizeCheck(ctx, n);
    for (const [p, n] of made) this.set(ctx, p, n);
  }
  private withChild(n: XsNode, name: string, add: boolean): XsNode {
    const ch = n.children.filter((c) => c !== name);
    if (add) ch.splice(lowerBound(ch, name), 0, name);
    return this.mk(n.value, n.perms, ch);
  }
  /** Recursive remove: descendants first (exact-match events), then the root (subtree event). */
  private rmAt(ctx: Ctx, path: string, node: XsNode): void {
    const order: [string, XsNode][] = [];
    const walk = (p: string, n: XsNode): void => {
      for (const c of n.children) {
        const cp = childPath(p, c), cn = this.get(ctx, cp);
        if (cn) walk(cp, cn);
      }
      order.push([p, n]);
    };
    walk(path, node);
    const parent = this.get(ctx, parentOf(path));
    for (const [p, n] of order) {
      this.set(ctx, p, undefined);
      this.fire(ctx, p, n, p === path ? SUBTREE : EXACT);
    }
    if (parent) this.set(ctx, parentOf(path), this.withChild(parent, baseName(path), false));
  }
  private setPermsAt(ctx: Ctx, raw: string, perms: Perm[], rec?: XsRecord): void {
    const f = this.lookup(ctx, raw, PERM_WRITE | PERM_OWNER, true);
    if (rec) rec.path = f.path;
    const n = f.node ?? fail(f.err);
    if (!ctx.priv && perms[0]!.id !== owner(n)) fail('EPERM');
    this.set(ctx, f.path, this.sizeCheck(ctx, this.mk(n.value, perms, n.children)));
    this.fire(ctx, f.path, undefined, SUBTREE, n.perms);
  }

  /** Commit: EAGAIN if any node the transaction looked at changed globally; else apply and fire in access order. */
  private commit(tx: Tx): void {
    if (tx.fail) fail('ENOMEM');
    for (const [p, a] of tx.acc) if ((this.nodes.get(p)?.gen ?? NO_GEN) !== a.gen) fail('EAGAIN');
    for (const [p, a] of tx.acc) {
      if (a.modified) this.setGlobal(p, a.node && this.mk(a.node.value, a.node.perms, a.node.children));
      if (a.fire) this.deliver(p, p, undefined, a.fire, a.oldPerms);
    }
  }

  // ---- watches ----

  /** A change to `path`: queued in the transaction, or delivered now. `node` gives perms for deleted nodes. */
  private fire(ctx: Ctx, path: string, node: XsNode | undefined, match: Match, oldPerms?: readonly Perm[]): void {
    if (!ctx.tx) return this.deliver(path, path, node, match, oldPerms);
    const a = ctx.tx.acc.get(path);
    if (!a) ctx.tx.fail = true;
    else a.fire = a.fire === SUBTREE || match === SUBTREE ? SUBTREE : EXACT;
  }
  private fireSpecial(name: string, domid: number): void {
    const n = this.nodes.get(name)!;
    this.deliver(name, name, n, EXACT);
    this.deliver(`${name}/${domid}`, name, n, EXACT);
  }
  /** Queue an event on every matching watch of every connection (in connection order) allowed to see it. */
  private deliver(path: string, nodePath: string, node: XsNode | undefined, match: Match, oldPerms?: readonly Perm[]): void {
    const n = node ?? this.nodes.get(nodePath);
    const parent = this.nodes.get(parentOf(nodePath));
    for (const c of this.conns.values()) {
      const who = { id: c.domid, priv: c.priv, target: c.target };
      const ok = (oldPerms && this.permFor(who, oldPerms) & PERM_READ) ||
        (n && (this.permFor(who, n.perms) & PERM_READ || (parent && this.permFor(who, parent.perms) & PERM_READ)));
      if (!ok) continue;
      for (const w of c.watches) {
        if (match === EXACT ? w.path === path : isChild(path, w.path)) this.queueEvent(c, path.slice(w.prefix), w.token);
      }
    }
  }
  // ---- snapshots (sim/snapshot.ts): every map in insertion order, which is state ----

  snapshot(): XsStoreState {
    const perms = (ps: readonly Perm[]): [number, number][] => ps.map((p) => [p.id, p.bits]);
    const node = (n: XsNode | undefined): XsNodeState | null => (n ? { value: n.value, perms: perms(n.perms), children: [...n.children], gen: n.gen } : null);
    return {
      gen: this.gen, quota: { ...this.quota }, introduced: [...this.introduced], owned: [...this.owned],
      nodes: [...this.nodes].map(([p, n]) => [p, node(n)!]),
      conns: [...this.conns.values()].map((c) => ({
        key: c.key, domid: c.domid, priv: c.priv, target: c.target, nextTx: c.nextTx, watches: c.watches.map((w) => ({ ...w })), events: c.events.map((e) => e.key),
        txs: [...c.txs.values()].map((t) => ({
          id: t.id, fail: t.fail,
          acc: [...t.acc].map(([p, a]) => [p, { node: node(a.node), gen: a.gen, modified: a.modified, fire: a.fire, oldPerms: a.oldPerms ? perms(a.oldPerms) : null }]),
        })),
      })),
    };
  }
  /** Replace everything with a snapshot's contents (queued watch events are rebuilt from their keys). */
  restore(s: XsStoreState): void {
    const perms = (ps: [number, number][]): Perm[] => ps.map(([id, bits]) => ({ id, bits }));
    const node = (n: XsNodeState | null): XsNode | undefined => (n ? { value: n.value, perms: perms(n.perms), children: [...n.children], gen: n.gen } : undefined);
    this.gen = s.gen;
    Object.assign(this.quota, s.quota);
    this.introduced.clear();
    for (const d of s.introduced) this.introduced.add(d);
    this.owned.clear();
    for (const [d, k] of s.owned) this.owned.set(d, k);
    this.nodes.clear();
    for (const [p, n] of s.nodes) this.nodes.set(p, node(n)!);
    this.conns.clear();
    for (const c of s.conns) {
      const txs = new Map<number, Tx>(c.txs.map((t) => [t.id, { id: t.id, fail: t.fail, acc: new Map(t.acc.map(([p, a]) => [p, {
        node: node(a.node), gen: a.gen, modified: a.modified, fire: a.fire as 0 | Match, oldPerms: a.oldPerms ? perms(a.oldPerms) : undefined,
      }])) }]));
      const events = c.events.map((key) => ({ key, msg: { type: XS.WATCH_EVENT, reqId: 0, txId: 0, payload: bytes(key) } }));
      this.conns.set(c.key ?? c.domid, { key: c.key ?? c.domid, domid: c.domid, priv: c.priv, target: c.target, nextTx: c.nextTx, watches: c.watches.map((w) => ({ ...w })), txs, events });
    }
  }

  private queueEvent(c: Conn, path: string, token: string): void {
    const key = `${path}\0${token}\0`;
    if (key.length > XENSTORE_PAYLOAD_MAX) return;
    if (path[0] !== '@' && c.events.some((e) => e.key === key)) return;
    c.events.push({ key, msg: { type: XS.WATCH_EVENT, reqId: 0, txId: 0, payload: bytes(key) } });
  }
}

/** XenStore.snapshot(): the whole store as plain data (perms as [id, bits]; absent nodes null). */
export type XsNodeState = { value: Uint8Array; perms: [number, number][]; children: string[]; gen: number };
export type XsStoreState = {
  gen: number; quota: XsQuota; introduced: number[]; owned: [number, number][]; nodes: [string, XsNodeState][];
  conns: Array<{
    key?: number; domid: number; priv: boolean; target: number | null; nextTx: number; watches: Watch[]; events: string[];
    txs: Array<{ id: number; fail: boolean; acc: [string, { node: XsNodeState | null; gen: number; modified: boolean; fire: number; oldPerms: [number, number][] | null }][] }>;
  }>;
};

function lowerBound(a: string[], s: string): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
