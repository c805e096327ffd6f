/**
 * Dom0's xenstore client: the requests dom0's drivers make (what Linux's
 * xenbus_* calls and the hotplug scripts' xenstore-* tools send), as wire
 * messages on xenstored's connection of domain 0, privileged. Every
 * request is traced as dom0's xenstore event (unless the machine is still
 * being built: the toolstack's domain creation is not part of the run).
 *
 * Watch tokens are prefixed with the driver's name, so the watch events
 * xenstored queues for domain 0 go back to the driver that asked.
 */
import {
  XS_DIRECTORY, XS_ERROR, XS_INTRODUCE, XS_MKDIR, XS_READ, XS_RM, XS_SET_PERMS, XS_TRANSACTION_END, XS_TRANSACTION_START, XS_UNWATCH, XS_WATCH, XS_WRITE,
} from '../xen/public/io/xs_wire.js';
import type { BackendDriver, Dom0Xs, XsAnswer } from './backend.js';
import type { XenStore, XsRecord } from './xenstored.js';

/** Strings on the wire as libxenstore sends C strings: UTF-8 bytes. */
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const zstr = (...parts: string[]): Uint8Array => utf8(parts.map((p) => `${p}\0`).join(''));

export class Dom0XsClient implements Dom0Xs {
  private reqId = 0;

  constructor(
    private readonly store: XenStore,
    /** a request was answered: its record, and whether it may have changed the store */
    private readonly done: (rec: XsRecord, changed: boolean) => void,
  ) {}

  /** The next request id, for snapshots. */
  get nextReqId(): number {
    return this.reqId;
  }
  set nextReqId(n: number) {
    this.reqId = n;
  }

  private request(type: number, payload: Uint8Array, tx: number, changes: boolean): XsAnswer {
    const { replies, record } = this.store.request(0, true, { type, reqId: this.reqId++, txId: tx, payload });
    const r = replies[0]!;
    this.done(record, changes && r.type !== XS_ERROR);
    return r.type === XS_ERROR ? { ok: false, error: text(r.payload).replace(/\0$/, '') } : { ok: true, value: text(r.payload) };
  }

  read(path: string, tx = 0): string | null {
    const a = this.request(XS_READ, zstr(path), tx, false);
    return a.ok ? a.value : null;
  }

  directory(path: string, tx = 0): string[] | null {
    const a = this.request(XS_DIRECTORY, zstr(path), tx, false);
    return a.ok ? a.value.split('\0').filter((x) => x !== '') : null;
  }

  write(path: string, value: string, tx = 0): XsAnswer {
    return this.request(XS_WRITE, utf8(`${path}\0${value}`), tx, true);
  }

  mkdir(path: string, tx = 0): XsAnswer {
    return this.request(XS_MKDIR, zstr(path), tx, true);
  }

  rm(path: string, tx = 0): XsAnswer {
    return this.request(XS_RM, zstr(path), tx, true);
  }

  setPerms(path: string, perms: string[], tx = 0): XsAnswer {
    return this.request(XS_SET_PERMS, zstr(path, ...perms), tx, true);
  }

  watch(driver: BackendDriver, path: string, token: string): XsAnswer {
    return this.request(XS_WATCH, zstr(path, `${driver.name}:${token}`), 0, true);
  }

  unwatch(driver: BackendDriver, path: string, token: string): XsAnswer {
    return this.request(XS_UNWATCH, zstr(path, `${driver.name}:${token}`), 0, false);
  }

  transactionStart(): number {
    const a = this.request(XS_TRANSACTION_START, zstr(''), 0, false);
    return a.ok ? Number(a.value.replace(/\0$/, '')) : 0;
  }

  transactionEnd(tx: number, commit: boolean): XsAnswer {
    return this.request(XS_TRANSACTION_END, zstr(commit ? 'T' : 'F'), tx, commit);
  }

  introduce(domid: number, mfn: number, port: number): XsAnswer {
    return this.request(XS_INTRODUCE, zstr(`${domid}`, `${mfn}`, `${port}`), 0, true);
  }
}

/** Split a watch token of domain 0's connection into the driver's name and its own token. */
export function splitToken(token: string): [string, string] {
  const k = token.indexOf(':');
  return k < 0 ? ['', token] : [token.slice(0, k), token.slice(k + 1)];
}
