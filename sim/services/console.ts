/**
 * The console backend (xenconsoled's side of public/io/console.h) for one
 * domain's console page.
 *
 * Ordering points (as xenconsoled's buffer_append / handle_tty_read):
 * - drain: load out_cons, then out_prod, copy out[out_cons .. out_prod)
 *   (indices free-running, masked by 2047), then store out_cons = out_prod
 *   (the store frees the space the guest may be waiting for).
 * - input: load in_cons, then in_prod, copy bytes to in[in_prod & 1023 ...]
 *   while fewer than 1024 are unread, then store in_prod (the publication).
 * After either moves an index the caller kicks the console event channel
 * (start_info.console.domU.evtchn), as xenconsoled does.
 *
 * A corrupt ring (out_prod - out_cons > 2048, or in_prod - in_cons > 1024)
 * is ignored exactly as xenconsoled ignores it: nothing is copied, no index
 * is written, `corrupt` becomes true. The guest is left as stuck as it would
 * be on real Xen; the caller may report it.
 *
 * Xen 4.17's console page has no `connection` flag (later Xens add one
 * after out_prod); nothing beyond xencons_interface is written.
 */

import { xencons_interface as C } from '../xen/public/io/console.js';

export class ConsoleBackend {
  /** The last drain or input found an impossible index pair and did nothing. */
  corrupt = false;

  constructor(private readonly page: DataView) {}

  /** Copy out[out_cons .. out_prod) and set out_cons = out_prod. Returns the bytes (empty when corrupt). */
  drain(): Uint8Array {
    const p = this.page;
    const cons = p.getUint32(C.out_cons, true);
    const prod = p.getUint32(C.out_prod, true);
    const size = (prod - cons) >>> 0;
    this.corrupt = size > C.out_sizeof;
    if (size === 0 || this.corrupt) return new Uint8Array(0);
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = p.getUint8(C.out + ((cons + i) & (C.out_sizeof - 1)));
    p.setUint32(C.out_cons, prod, true);
    return b;
  }

  /** Put input bytes into in[] as far as they fit; returns how many were written (0 when corrupt). */
  input(bytes: Uint8Array): number {
    const p = this.page;
    const cons = p.getUint32(C.in_cons, true);
    const prod = p.getUint32(C.in_prod, true);
    const used = (prod - cons) >>> 0;
    this.corrupt = used > C.in_sizeof;
    if (this.corrupt) return 0;
    const n = Math.min(bytes.length, C.in_sizeof - used);
    for (let i = 0; i < n; i++) p.setUint8(C.in + ((prod + i) & (C.in_sizeof - 1)), bytes[i]!);
    if (n > 0) p.setUint32(C.in_prod, (prod + n) >>> 0, true);
    return n;
  }
}
