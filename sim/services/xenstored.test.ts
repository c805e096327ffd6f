import { describe, expect, it } from 'vitest';
import { XenStore, XS, bytes, latin1, show } from './xenstored.js';
import { xlTest } from './test-xl.js';

/** One request; the reply as [type, payload text], plus the record. */
function q(s: XenStore, domid: number, type: number, payload: string | Uint8Array, txId = 0, reqId = 42) {
  const priv = domid === 0;
  const r = s.request(domid, priv, { type, reqId, txId, payload: typeof payload === 'string' ? bytes(payload) : payload });
  expect(r.replies).toHaveLength(1);
  const m = r.replies[0]!;
  expect(m.reqId).toBe(reqId);
  expect(m.txId).toBe(txId);
  return { type: m.type, text: latin1(m.payload), rec: r.record, payload: m.payload };
}
/** The reply text, or "!ERRNAME" for an XS_ERROR reply. */
function t(s: XenStore, domid: number, type: number, payload: string | Uint8Array, txId = 0): string {
  const r = q(s, domid, type, payload, txId);
  if (r.type === XS.ERROR) return `!${r.text.slice(0, -1)}`;
  expect(r.type).toBe(type);
  return r.text;
}
const ev = (s: XenStore, d: number): string[] => s.takeWatchEvents(d).map((e) => {
  expect([e.type, e.reqId, e.txId]).toEqual([XS.WATCH_EVENT, 0, 0]);
  return latin1(e.payload).replace(/\0/g, '|');
});
function store(...doms: number[]): XenStore {
  const s = new XenStore();
  for (const d of doms) xlTest(s, d, `dom${d}`);
  return s;
}

describe('XenStore basics', () => {
  it('starts with xenstored\'s tree and builds libxl\'s domain home', () => {
    const s = new XenStore();
    expect(t(s, 0, XS.DIRECTORY, '/\0')).toBe('tool\0');
    expect(t(s, 0, XS.GET_PERMS, '@releaseDomain\0')).toBe('n0\0r32757\0');
    xlTest(s, 3, 'guest');
    expect(t(s, 0, XS.DIRECTORY, '/\0')).toBe('libxl\0local\0tool\0vm\0');
    expect(t(s, 3, XS.READ, 'domid\0')).toBe('3');
    expect(t(s, 3, XS.READ, 'name\0')).toBe('guest');
    expect(t(s, 3, XS.GET_PERMS, '/local/domain/3\0')).toBe('n0\0r3\0');
    expect(t(s, 3, XS.GET_PERMS, 'domid\0')).toBe('n0\0r3\0');
    expect(t(s, 3, XS.GET_PERMS, 'data\0')).toBe('n3\0');
    expect(t(s, 3, XS.GET_PERMS, 'control/shutdown\0')).toBe('n3\0');
    expect(t(s, 3, XS.WRITE, 'junk\0x')).toBe('!EACCES');
    expect(t(s, 3, XS.WRITE, 'data/x\0y')).toBe('OK\0');
    expect(s.read('/local/domain/3/data/x')).toBe('y');
  });

  it('reads raw values, echoes ids, records what happened', () => {
    const s = store(1);
    s.write('/local/domain/1/data/v', 'héllo');
    const r = q(s, 1, XS.READ, 'data/v\0', 0, 0xdeadbeef);
    expect(Array.from(r.payload)).toEqual(Array.from(new TextEncoder().encode('héllo')));
    expect(r.rec).toEqual({ op: 'READ', txId: 0, path: '/local/domain/1/data/v', value: 'h\\xc3\\xa9llo', result: 'OK' });
    const e = q(s, 1, XS.READ, 'data/none\0', 0, 7);
    expect([e.type, e.text]).toEqual([XS.ERROR, 'ENOENT\0']);
    expect(e.rec.result).toBe('ENOENT');
    expect(show(new Uint8Array(200).fill(0x41))).toMatch(/^A{93}\.\.\.$/);
  });

  it('stores binary values with NULs and returns a copy', () => {
    const s = store(1);
    const w = new Uint8Array([...bytes('data/b\0'), 1, 0, 2, 0]);
    expect(t(s, 1, XS.WRITE, w)).toBe('OK\0');
    const r = q(s, 1, XS.READ, 'data/b\0');
    expect(Array.from(r.payload)).toEqual([1, 0, 2, 0]);
    r.payload.fill(9);
    expect(Array.from(q(s, 1, XS.READ, 'data/b\0').payload)).toEqual([1, 0, 2, 0]);
  });

  it('validates arguments and paths with EINVAL', () => {
    const s = store(1);
    for (const bad of ['data\0x\0', 'data', '', 'da ta\0', 'data//x\0', 'data/\0', '\0', '@releaseDomain\0', 'dätä\0']) {
      expect(t(s, 1, XS.READ, bad)).toBe('!EINVAL');
    }
    expect(t(s, 1, XS.WRITE, 'data/x')).toBe('!EINVAL');
    expect(t(s, 0, XS.READ, '/\0')).toBe('');
    expect(t(s, 1, XS.MKDIR, 'a-b_c@d/E9\0')).toBe('!EACCES'); // valid characters; home is read-only
  });

  it('limits unprivileged path length below the domain prefix to < 2048', () => {
    const s = store(1);
    const ok = `data${'/xxxxxxxxx'.repeat(204)}/xx`; // 2047 bytes in short segments (node size quota)
    expect(ok).toHaveLength(2047);
    expect(t(s, 1, XS.WRITE, `${ok}\0v`)).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, `${ok}y\0v`)).toBe('!EINVAL');
    expect(t(s, 1, XS.READ, `/local/domain/1/${ok}\0`)).toBe('v');
    expect(t(s, 0, XS.WRITE, `/local/domain/1/${ok}y/z\0v`)).toBe('OK\0');
  });

  it('resolves relative paths under the caller\'s home', () => {
    const s = store(1, 2);
    expect(t(s, 2, XS.READ, 'domid\0')).toBe('2');
    expect(t(s, 0, XS.WRITE, 'here\0v')).toBe('OK\0');
    expect(s.read('/local/domain/0/here')).toBe('v');
    expect(q(s, 1, XS.WRITE, 'data/q\0v').rec.path).toBe('/local/domain/1/data/q');
  });

  it('answers GET_DOMAIN_PATH with C strtoul quirks', () => {
    const s = store(1);
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '5\0')).toBe('/local/domain/5\0');
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '\0')).toBe('/local/domain/0\0');
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '65536\0')).toBe('!EINVAL');
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '-1\0')).toBe('!EINVAL');
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '1x\0')).toBe('!EINVAL');
    expect(t(s, 1, XS.GET_DOMAIN_PATH, '1\0')).toBe('/local/domain/1\0');
  });

  it('rejects unknown, reply-only and unimplemented types with ENOSYS, CONTROL with EACCES/EINVAL', () => {
    const s = store(1);
    for (const ty of [XS.WATCH_EVENT, XS.ERROR, 20, XS.GET_FEATURE, XS.SET_QUOTA, 27, 0xffff]) {
      const r = q(s, 1, ty, 'x\0');
      expect([r.type, r.text]).toEqual([XS.ERROR, 'ENOSYS\0']);
    }
    expect(q(s, 1, 99, '').rec.op).toBe('UNKNOWN(99)');
    expect(t(s, 1, XS.CONTROL, 'check\0')).toBe('!EACCES');
    expect(t(s, 0, XS.CONTROL, 'check\0')).toBe('!EINVAL');
  });
});

describe('XenStore tree operations', () => {
  it('lists children in byte order; E2BIG beyond the payload limit', () => {
    const s = store(1);
    for (const c of ['b', 'a', 'C', 'a-1']) expect(t(s, 1, XS.MKDIR, `data/${c}\0`)).toBe('OK\0');
    expect(t(s, 1, XS.DIRECTORY, 'data\0')).toBe('C\0a\0a-1\0b\0');
    expect(t(s, 1, XS.DIRECTORY, 'data/a\0')).toBe('');
    for (let i = 0; i < 400; i++) s.write(`/big/${'n'.repeat(10)}${i}`, '');
    expect(t(s, 0, XS.DIRECTORY, '/big\0')).toBe('!E2BIG');
  });

  it('pages long directories with DIRECTORY_PART', () => {
    const s = store();
    for (let i = 0; i < 300; i++) s.write(`/big/${'n'.repeat(10)}${String(i).padStart(3, '0')}`, '');
    const first = t(s, 0, XS.DIRECTORY_PART, '/big\x00000\0');
    const [gen, ...names] = first.split('\0');
    expect(Number(gen)).toBeGreaterThan(0);
    expect(first.endsWith('\0\0')).toBe(false);
    const got = names.filter((n) => n);
    const rest = t(s, 0, XS.DIRECTORY_PART, `/big\0${got.length * 14}\0`);
    expect(rest.startsWith(`${gen}\0`)).toBe(true);
    expect(rest.endsWith('\0\0')).toBe(true);
    const all = [...got, ...rest.split('\0').slice(1).filter((n) => n)];
    expect(all).toHaveLength(300);
    expect(all[299]).toBe('nnnnnnnnnn299');
    expect(t(s, 0, XS.DIRECTORY_PART, '/big\x009999\0')).toBe(`${gen}\0\0`);
    expect(t(s, 0, XS.DIRECTORY_PART, '/big\0')).toBe('!EINVAL');
  });

  it('creates missing parents, inheriting permissions; unprivileged creators own theirs', () => {
    const s = store(1, 2);
    s.write('/shared', '');
    s.setPerms('/shared', ['n0', 'b1', 'r2']);
    expect(t(s, 1, XS.WRITE, '/shared/a/b\0v')).toBe('OK\0');
    expect(t(s, 0, XS.GET_PERMS, '/shared/a\0')).toBe('n1\0b1\0r2\0');
    expect(t(s, 0, XS.GET_PERMS, '/shared/a/b\0')).toBe('n1\0b1\0r2\0');
    expect(t(s, 2, XS.READ, '/shared/a/b\0')).toBe('v');
    expect(t(s, 2, XS.WRITE, '/shared/a/b\0w')).toBe('!EACCES');
    expect(t(s, 0, XS.WRITE, '/shared/c/d\0v')).toBe('OK\0');
    expect(t(s, 0, XS.GET_PERMS, '/shared/c/d\0')).toBe('n0\0b1\0r2\0');
    expect(t(s, 0, XS.READ, '/shared/c\0')).toBe('');
  });

  it('hides existence: ENOENT only when the nearest ancestor grants the access', () => {
    const s = store(1, 2);
    expect(t(s, 1, XS.READ, '/local/domain/2/nothing\0')).toBe('!EACCES');
    expect(t(s, 1, XS.READ, '/local/domain/2/domid\0')).toBe('!EACCES');
    expect(t(s, 1, XS.READ, '/local/domain/1/nothing/deeper\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.WRITE, '/local/domain/2/data/x\0v')).toBe('!EACCES');
    expect(t(s, 1, XS.READ, '/nonexistent/x\0')).toBe('!EACCES');
    expect(t(s, 0, XS.READ, '/nonexistent/x\0')).toBe('!ENOENT');
  });

  it('MKDIR creates, leaves existing nodes alone, needs write access', () => {
    const s = store(1);
    expect(t(s, 1, XS.WRITE, 'data/m\0keep')).toBe('OK\0');
    expect(t(s, 1, XS.WATCH, 'data\0w\0')).toBe('OK\0');
    ev(s, 1);
    expect(t(s, 1, XS.MKDIR, 'data/m\0')).toBe('OK\0');
    expect(ev(s, 1)).toEqual([]);
    expect(t(s, 1, XS.READ, 'data/m\0')).toBe('keep');
    expect(t(s, 1, XS.MKDIR, 'data/n/o\0')).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['data/n/o|w|']);
    expect(t(s, 1, XS.MKDIR, 'domid\0')).toBe('!EACCES');
  });

  it('RM removes recursively; missing is OK only with a parent', () => {
    const s = store(1);
    for (const p of ['data/r/a/x', 'data/r/b', 'data/keep']) expect(t(s, 1, XS.WRITE, `${p}\0v`)).toBe('OK\0');
    expect(t(s, 1, XS.RM, 'data/r\0')).toBe('OK\0');
    expect(t(s, 1, XS.DIRECTORY, 'data\0')).toBe('keep\0');
    expect(t(s, 1, XS.READ, 'data/r/a/x\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.RM, 'data/r\0')).toBe('OK\0');
    expect(t(s, 1, XS.RM, 'data/r/a\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.RM, 'domid\0')).toBe('!EACCES');
    expect(t(s, 1, XS.RM, '/\0')).toBe('!EACCES');
    expect(t(s, 0, XS.RM, '/\0')).toBe('!EINVAL');
    s.rm('/local/domain/1/data');
    expect(s.read('/local/domain/1/data/keep')).toBeNull();
  });

  it('SET_PERMS / GET_PERMS: parsing, owner rules, quota', () => {
    const s = store(1, 2);
    expect(t(s, 1, XS.WRITE, 'data/p\0v')).toBe('OK\0');
    expect(t(s, 2, XS.READ, '/local/domain/1/data/p\0')).toBe('!EACCES');
    expect(t(s, 1, XS.SET_PERMS, 'data/p\0n1\0r2\0')).toBe('OK\0');
    expect(t(s, 2, XS.READ, '/local/domain/1/data/p\0')).toBe('v');
    expect(t(s, 1, XS.GET_PERMS, 'data/p\0')).toBe('n1\0r2\0');
    expect(t(s, 1, XS.SET_PERMS, 'data/p\0b1\0w0x2\0')).toBe('OK\0');
    expect(t(s, 1, XS.GET_PERMS, 'data/p\0')).toBe('b1\0w2\0');
    expect(t(s, 2, XS.WRITE, '/local/domain/1/data/p\0by2')).toBe('OK\0');
    expect(t(s, 2, XS.SET_PERMS, '/local/domain/1/data/p\0b2\0')).toBe('!EACCES'); // 'w' is not ownership
    expect(t(s, 1, XS.SET_PERMS, 'data/p\0n2\0')).toBe('!EPERM');
    expect(t(s, 0, XS.SET_PERMS, '/local/domain/1/data/p\0n2\0')).toBe('OK\0');
    expect(t(s, 1, XS.READ, 'data/p\0')).toBe('!EACCES');
    for (const bad of ['data/p\0', 'data/p\0x1\0', 'data/p\0r\0', 'data/p\0r1x\0', 'data/p']) {
      expect(t(s, 0, XS.SET_PERMS, bad)).toBe('!EINVAL');
    }
    expect(t(s, 1, XS.SET_PERMS, 'data\0n1\0r2\0r3\0r4\0r5\0')).toBe('!ENOSPC');
    expect(t(s, 1, XS.SET_PERMS, 'data\0n1\0r2\0r3\0r4\0')).toBe('OK\0');
    expect(t(s, 1, XS.SET_PERMS, 'data/none\0n1\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.GET_PERMS, '@introduceDomain\0')).toBe('!EACCES');
  });

  it('SET_TARGET gives a domain its target\'s access', () => {
    const s = store(1, 2);
    expect(t(s, 1, XS.SET_TARGET, '2\x00001\0')).toBe('!EACCES');
    expect(t(s, 2, XS.WRITE, '/local/domain/1/data/x\0v')).toBe('!EACCES');
    expect(t(s, 0, XS.SET_TARGET, '2\x00001\0')).toBe('OK\0');
    expect(t(s, 2, XS.WRITE, '/local/domain/1/data/x\0v')).toBe('OK\0');
    expect(t(s, 0, XS.SET_TARGET, '2\x00009\0')).toBe('!ENOENT');
    expect(t(s, 0, XS.SET_TARGET, '2\0')).toBe('!EINVAL');
  });
});

describe('XenStore quotas', () => {
  it('caps nodes per owner (>= limit is exceeded), deterministically, not for dom0', () => {
    const s = new XenStore({ nodes: 12 });
    xlTest(s, 1, 'q'); // owns xl's 11 writable nodes and console/backend-id already: over quota
    expect(t(s, 1, XS.WRITE, 'data/a\0v')).toBe('!ENOSPC');
    const s2 = new XenStore({ nodes: 18 });
    xlTest(s2, 1, 'q');
    expect(t(s2, 1, XS.WRITE, 'data/a\0v')).toBe('OK\0'); // 13
    expect(t(s2, 1, XS.WRITE, 'data/b/c/d\0v')).toBe('OK\0'); // 16
    expect(t(s2, 1, XS.WRITE, 'data/e/f\0v')).toBe('!ENOSPC'); // 18 >= 18
    expect(t(s2, 1, XS.READ, 'data/e\0')).toBe('!ENOENT'); // nothing half-created
    expect(t(s2, 1, XS.WRITE, 'data/e\0v')).toBe('OK\0'); // 17
    expect(t(s2, 1, XS.WRITE, 'data/a\0overwrite')).toBe('OK\0');
    expect(t(s2, 1, XS.RM, 'data/b\0')).toBe('OK\0'); // 14
    expect(t(s2, 1, XS.WRITE, 'data/g/h/i\0v')).toBe('OK\0');
    expect(t(s2, 0, XS.WRITE, '/local/domain/0/lots/of/nodes/here\0v')).toBe('OK\0');
  });

  it('caps node size and watches', () => {
    const s = store(1);
    expect(t(s, 1, XS.WRITE, `data/big\0${'x'.repeat(2048 - 16 - 8 - 1)}`)).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, `data/big\0${'x'.repeat(2048 - 16 - 8)}`)).toBe('!ENOSPC');
    expect(t(s, 0, XS.WRITE, `/local/domain/1/data/big\0${'x'.repeat(4000)}`)).toBe('OK\0');
    const w = new XenStore({ watches: 3 });
    expect(t(w, 1, XS.WATCH, '/a\0t1\0')).toBe('OK\0');
    expect(t(w, 1, XS.WATCH, '/a\0t2\0')).toBe('OK\0');
    expect(t(w, 1, XS.WATCH, '/a\0t3\0')).toBe('!ENOSPC');
    expect(t(w, 0, XS.WATCH, '/a\0t3\0')).toBe('OK\0');
  });
});

describe('XenStore watches', () => {
  it('fires once on registration, then for the node and its descendants', () => {
    const s = store(1);
    expect(t(s, 1, XS.WATCH, 'data/w\0tok\0')).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['data/w|tok|']);
    expect(t(s, 1, XS.WATCH, '/local/domain/1/data/w\0abs\0')).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['/local/domain/1/data/w|abs|']);
    expect(t(s, 1, XS.WRITE, 'data/w/x/y\0v')).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, 'data/other\0v')).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, 'data/w\0v')).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['data/w/x/y|tok|', '/local/domain/1/data/w/x/y|abs|', 'data/w|tok|', '/local/domain/1/data/w|abs|']);
    expect(t(s, 1, XS.WRITE, 'data\0v')).toBe('OK\0'); // a parent change is no event
    expect(ev(s, 1)).toEqual([]);
  });

  it('RM fires the removed node and exact watches on removed descendants, children first', () => {
    const s = store(1);
    for (const p of ['data/r/a/x', 'data/r/b']) t(s, 1, XS.WRITE, `${p}\0v`);
    for (const [p, k] of [['data/r/a/x', 'x'], ['data/r/b', 'b'], ['data/r/zz', 'missing'], ['data', 'top'], ['data/r', 'r']]) {
      expect(t(s, 1, XS.WATCH, `${p}\0${k}\0`)).toBe('OK\0');
    }
    ev(s, 1);
    expect(t(s, 1, XS.RM, 'data/r\0')).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['data/r/a/x|x|', 'data/r/b|b|', 'data/r|top|', 'data/r|r|']);
  });

  it('orders events by connection then watch; UNWATCH stops them; errors', () => {
    const s = store(1, 2);
    for (const d of [2, 0, 1]) expect(t(s, d, XS.WATCH, '/local/domain/1/data\0d\0')).toBe('OK\0');
    expect(t(s, 0, XS.WATCH, '/local\0second\0')).toBe('OK\0');
    for (const d of [0, 1, 2]) ev(s, d);
    expect(t(s, 1, XS.WRITE, 'data/z\0v')).toBe('OK\0');
    expect(ev(s, 0)).toEqual(['/local/domain/1/data/z|d|', '/local/domain/1/data/z|second|']);
    expect(ev(s, 1)).toEqual(['/local/domain/1/data/z|d|']);
    expect(ev(s, 2)).toEqual([]); // cannot read domain 1's data
    expect(s.eventsPending()).toEqual([]);
    expect(t(s, 1, XS.WATCH, '/local/domain/1/data\0d\0')).toBe('!EEXIST');
    expect(t(s, 1, XS.UNWATCH, '/local/domain/1/data\0d\0')).toBe('OK\0');
    expect(t(s, 1, XS.UNWATCH, '/local/domain/1/data\0d\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.WRITE, 'data/z\0v')).toBe('OK\0');
    expect(s.eventsPending()).toEqual([0]);
    expect(ev(s, 1)).toEqual([]);
    for (const bad of ['data\0', 'data\0a\0b\0', 'da ta\0t\0', 'data/\0t\0']) expect(t(s, 1, XS.WATCH, bad)).toBe('!EINVAL');
    expect(t(s, 1, XS.UNWATCH, 'data\0')).toBe('!EINVAL');
    expect(t(s, 1, XS.WATCH, 'data\0t\0', 777)).toBe('OK\0'); // tx_id ignored
  });

  it('drops an event identical to one still queued', () => {
    const s = store(1);
    t(s, 1, XS.WATCH, 'data\0t\0');
    t(s, 1, XS.WRITE, 'data/a\0v');
    t(s, 1, XS.WRITE, 'data/a\0w');
    t(s, 1, XS.WRITE, 'data/b\0w');
    expect(ev(s, 1)).toEqual(['data|t|', 'data/a|t|', 'data/b|t|']);
    t(s, 1, XS.WRITE, 'data/a\0v');
    expect(ev(s, 1)).toEqual(['data/a|t|']);
  });

  it('fires SET_PERMS for watchers that could read before or after', () => {
    const s = store(1, 2);
    t(s, 1, XS.WRITE, 'data/p\0v');
    t(s, 1, XS.SET_PERMS, 'data/p\0n1\0r2\0');
    expect(t(s, 2, XS.WATCH, '/local/domain/1/data/p\0t\0')).toBe('OK\0');
    ev(s, 2);
    t(s, 1, XS.SET_PERMS, 'data/p\0n1\0');
    expect(ev(s, 2)).toEqual(['/local/domain/1/data/p|t|']);
    t(s, 1, XS.WRITE, 'data/p\0x');
    expect(ev(s, 2)).toEqual([]);
  });

  it('@introduceDomain / @releaseDomain follow the special nodes\' permissions', () => {
    const s = store(1);
    for (const d of [0, 1]) {
      expect(t(s, d, XS.WATCH, '@introduceDomain\0i\0')).toBe('OK\0');
      expect(t(s, d, XS.WATCH, '@releaseDomain\0r\0')).toBe('OK\0');
      expect(ev(s, d)).toEqual(['@introduceDomain|i|', '@releaseDomain|r|']);
    }
    expect(t(s, 0, XS.WATCH, '@releaseDomain/7\0r7\0')).toBe('OK\0');
    expect(t(s, 0, XS.WATCH, '/\0all\0')).toBe('OK\0');
    ev(s, 0);
    s.introduceDomain(7);
    expect(ev(s, 0).filter((e) => e.startsWith('@'))).toEqual(['@introduceDomain|i|']);
    expect(ev(s, 1)).toEqual([]);
    s.releaseDomain(7);
    expect(ev(s, 0)).toEqual(['@releaseDomain|r|', '@releaseDomain/7|r7|']);
    expect(ev(s, 1)).toEqual(['@releaseDomain|r|']);
    s.setPerms('@introduceDomain', ['n0', 'r1']); // fires too; special events are never merged
    s.introduceDomain(8);
    expect(ev(s, 1)).toEqual(['@introduceDomain|i|', '@introduceDomain|i|']);
    s.introduceDomain(0);
    expect(ev(s, 1)).toEqual([]);
  });
});

describe('XenStore transactions', () => {
  it('commits, aborts, and isolates', () => {
    const s = store(1);
    t(s, 1, XS.WRITE, 'data/a\0old');
    const tx = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    expect(tx).toBe(1);
    expect(t(s, 1, XS.WRITE, 'data/a\0new', tx)).toBe('OK\0');
    expect(t(s, 1, XS.WRITE, 'data/b/c\0made', tx)).toBe('OK\0');
    expect(t(s, 1, XS.READ, 'data/a\0', tx)).toBe('new');
    expect(t(s, 1, XS.READ, 'data/a\0')).toBe('old');
    expect(t(s, 1, XS.DIRECTORY, 'data\0', tx)).toBe('a\0b\0');
    expect(t(s, 1, XS.DIRECTORY, 'data\0')).toBe('a\0');
    expect(t(s, 1, XS.TRANSACTION_END, 'T\0', tx)).toBe('OK\0');
    expect(t(s, 1, XS.READ, 'data/b/c\0')).toBe('made');
    expect(t(s, 1, XS.READ, 'data/a\0', tx)).toBe('!ENOENT'); // the id is gone
    const tx2 = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    expect(tx2).toBe(2);
    expect(t(s, 1, XS.RM, 'data/b\0', tx2)).toBe('OK\0');
    expect(t(s, 1, XS.TRANSACTION_END, 'F\0', tx2)).toBe('OK\0');
    expect(t(s, 1, XS.READ, 'data/b/c\0')).toBe('made');
  });

  it('EAGAIN when a node the transaction saw changed, appeared or vanished', () => {
    const s = store(1);
    t(s, 1, XS.WRITE, 'data/a\0v');
    const run = (inTx: (tx: number) => void, outside: () => void): string => {
      const tx = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
      inTx(tx);
      outside();
      return t(s, 1, XS.TRANSACTION_END, 'T\0', tx);
    };
    expect(run((tx) => t(s, 1, XS.READ, 'data/a\0', tx), () => s.write('/local/domain/1/data/a', 'x'))).toBe('!EAGAIN');
    expect(run((tx) => t(s, 1, XS.READ, 'data/n\0', tx), () => s.write('/local/domain/1/data/n', 'x'))).toBe('!EAGAIN');
    expect(run((tx) => t(s, 1, XS.WRITE, 'data/a\0mine', tx), () => s.rm('/local/domain/1/data/a'))).toBe('!EAGAIN');
    expect(run((tx) => t(s, 1, XS.WRITE, 'data/m1\0mine', tx), () => s.write('/local/domain/1/data/other', 'x'))).toBe('!EAGAIN'); // parent changed
    expect(run((tx) => t(s, 1, XS.WRITE, 'data/other\0mine', tx), () => s.write('/local/domain/1/data/other2', 'x'))).toBe('OK\0'); // existing node: parent not involved
    expect(run((tx) => t(s, 1, XS.WRITE, 'data/m2\0mine', tx), () => s.write('/local/domain/1/feature/x', 'x'))).toBe('OK\0');
    expect(s.read('/local/domain/1/data/m2')).toBe('mine');
    expect(run((tx) => t(s, 1, XS.READ, 'data/m2\0', tx), () => s.write('/local/domain/1/data/m2', 'mine'))).toBe('!EAGAIN'); // same value, new generation
  });

  it('fires watches at commit only, in first-access order', () => {
    const s = store(1);
    t(s, 1, XS.WATCH, 'data\0t\0');
    ev(s, 1);
    const tx = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    t(s, 1, XS.WRITE, 'data/y\0v', tx);
    t(s, 1, XS.WRITE, 'data/x\0v', tx);
    t(s, 1, XS.WRITE, 'data/y\0w', tx);
    expect(ev(s, 1)).toEqual([]);
    expect(t(s, 1, XS.TRANSACTION_END, 'T\0', tx)).toBe('OK\0');
    expect(ev(s, 1)).toEqual(['data/y|t|', 'data/x|t|']);
    const tx2 = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    t(s, 1, XS.WRITE, 'data/z\0v', tx2);
    t(s, 1, XS.TRANSACTION_END, 'F\0', tx2);
    expect(ev(s, 1)).toEqual([]);
  });

  it('transaction errors: unknown id, nesting, bad END, quotas', () => {
    const s = new XenStore({ transactions: 3, transactionNodes: 8 });
    xlTest(s, 1, 'x');
    expect(t(s, 1, XS.READ, 'domid\0', 5)).toBe('!ENOENT');
    expect(t(s, 1, XS.TRANSACTION_START, '\0', 5)).toBe('!ENOENT');
    expect(t(s, 1, XS.TRANSACTION_END, 'T\0')).toBe('!ENOENT');
    expect(t(s, 1, XS.TRANSACTION_END, 'X\0')).toBe('!EINVAL');
    const a = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    expect(t(s, 1, XS.TRANSACTION_START, '\0', a)).toBe('!EBUSY');
    expect(t(s, 1, XS.TRANSACTION_END, 'yes\0', a)).toBe('!EINVAL');
    const b = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    expect(t(s, 1, XS.TRANSACTION_START, '\0')).toBe('!ENOSPC');
    expect(t(s, 0, XS.TRANSACTION_START, '\0')).toBe('1\0');
    for (let i = 0; i < 6; i++) t(s, 1, XS.READ, `data/n${i}\0`, b);
    expect(t(s, 1, XS.READ, 'data/n7\0', b)).toBe('!ENOSPC');
    expect(t(s, 1, XS.TRANSACTION_END, 'T\0', b)).toBe('!ENOMEM');
    expect(t(s, 1, XS.TRANSACTION_END, 'F\0', a)).toBe('OK\0');
    expect(t(s, 1, XS.TRANSACTION_START, '\0')).toBe('3\0');
  });
});

describe('XenStore domain management', () => {
  it('INTRODUCE / RELEASE / RESUME / IS_DOMAIN_INTRODUCED are dom0 only', () => {
    const s = store(1);
    for (const [ty, p] of [[XS.INTRODUCE, '5\x00001\x00002\0'], [XS.RELEASE, '1\0'], [XS.IS_DOMAIN_INTRODUCED, '1\0'], [XS.RESUME, '1\0']] as const) {
      expect(t(s, 1, ty, p)).toBe('!EACCES');
    }
    expect(t(s, 0, XS.IS_DOMAIN_INTRODUCED, '5\0')).toBe('F\0');
    expect(t(s, 0, XS.WATCH, '@introduceDomain\0i\0')).toBe('OK\0');
    ev(s, 0);
    expect(t(s, 0, XS.INTRODUCE, '5\x00001234\x00000\0')).toBe('!EINVAL');
    expect(t(s, 0, XS.INTRODUCE, '5\x00001234\0')).toBe('!EINVAL');
    expect(t(s, 0, XS.INTRODUCE, '5\x00001234\x00003\0')).toBe('OK\0');
    expect(ev(s, 0)).toEqual(['@introduceDomain|i|']);
    expect(t(s, 0, XS.IS_DOMAIN_INTRODUCED, '5\0')).toBe('T\0');
    expect(t(s, 0, XS.IS_DOMAIN_INTRODUCED, '0\0')).toBe('T\0');
    expect(t(s, 0, XS.IS_DOMAIN_INTRODUCED, `${0x7ff0}\0`)).toBe('T\0');
    expect(t(s, 0, XS.RESUME, '5\0')).toBe('OK\0');
    expect(t(s, 0, XS.RELEASE, '0\0')).toBe('!EINVAL');
    expect(t(s, 0, XS.RELEASE, '9\0')).toBe('!ENOENT');
    expect(t(s, 0, XS.RELEASE, 'x\0')).toBe('!EINVAL');
    expect(t(s, 5, XS.WATCH, '/\0w\0')).toBe('OK\0');
    expect(t(s, 0, XS.RELEASE, '5\0')).toBe('OK\0');
    expect(t(s, 0, XS.IS_DOMAIN_INTRODUCED, '5\0')).toBe('F\0');
    expect(s.takeWatchEvents(5)).toEqual([]);
    s.write('/x', 'v');
    expect(s.takeWatchEvents(5)).toEqual([]);
  });

  it('RESET_WATCHES and re-introduction drop watches and transactions', () => {
    const s = store(1);
    t(s, 1, XS.WATCH, 'data\0t\0');
    const tx = Number(t(s, 1, XS.TRANSACTION_START, '\0').slice(0, -1));
    expect(t(s, 1, XS.RESET_WATCHES, '\0')).toBe('OK\0');
    ev(s, 1);
    t(s, 1, XS.WRITE, 'data/x\0v');
    expect(ev(s, 1)).toEqual([]);
    expect(t(s, 1, XS.READ, 'data/x\0', tx)).toBe('!ENOENT');
    t(s, 1, XS.WATCH, 'data\0t\0');
    xlTest(s, 1, 'again');
    expect(s.takeWatchEvents(1)).toEqual([]);
    t(s, 1, XS.WRITE, 'data/x\0v');
    expect(ev(s, 1)).toEqual([]);
  });

  it('toolstack helpers reject invalid input with RangeError', () => {
    const s = store();
    expect(() => s.write('bad//path', 'v')).toThrow(RangeError);
    expect(() => s.write('@introduceDomain', 'v')).toThrow(RangeError);
    expect(() => s.setPerms('/tool', ['q1'])).toThrow(RangeError);
    expect(() => s.setPerms('/missing', ['n0'])).toThrow(RangeError);
    expect(s.read('/missing')).toBeNull();
  });
});
