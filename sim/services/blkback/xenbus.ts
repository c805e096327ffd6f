/**
 * One virtual block device's side of the xenbus handshake, as Linux 6.1's
 * xen-blkback (drivers/block/xen-blkback/xenbus.c) and its xenbus backend
 * core run it. Backend directory BE = /local/domain/0/backend/vbd/F/D,
 * frontend directory FE (BE/frontend).
 *
 * probe (the toolstack created BE): read frontend-id and frontend; write
 *   feature-max-indirect-segments=256, multi-queue-max-queues=<dom0 vCPUs>;
 *   watch BE/physical-device; write max-ring-page-order=4; state
 *   InitWait; watch FE/state.
 * physical-device appears (the hotplug script): read "maj:min" (hex),
 *   mode, FE/device-type; open the disk; then try to connect.
 * frontend state:
 *   Initialising: if we are Closed, InitWait again (the frontend restarts);
 *   Initialised or Connected: unless Connected, disconnect what is left,
 *     connect the rings, and try to connect;
 *   Closing: Closing; Closed: disconnect, Closed, and, unless BE/online is
 *     1, the device goes; Unknown (FE gone): the device goes; others:
 *     fatal.
 * connect rings: FE/protocol (x86_64-abi; 32-bit guests are not
 *   simulated), FE/feature-persistent, FE/multi-queue-num-queues (1 to the
 *   maximum), FE/ring-page-order (0 to 4: ring-ref0..ring-ref<2^order-1>,
 *   else ring-ref), per queue (FE, or FE/queue-N with several) ring refs
 *   and event-channel; map the ring pages, attach at their rsp_prod
 *   (refused when req_prod is more than the ring ahead), bind the channel.
 * try to connect (rings and disk ready, not yet Connected): in one
 *   transaction feature-flush-cache, discard-granularity, discard-alignment,
 *   discard-secure, feature-discard (only if BE/discard-enable, default 1),
 *   feature-barrier, feature-persistent=1, sectors, info, sector-size,
 *   physical-sector-size; then state Connected, and serve what the rings
 *   already hold.
 * State changes read the old state and write the new one in a transaction
 * (xenbus_switch_state); a fatal error writes error/backend/vbd/F/D/error
 * (under dom0's home) and switches to Closing (xenbus_dev_fatal).
 */
import { XEN_IO_PROTO_ABI_X86_32, XEN_IO_PROTO_ABI_X86_64 } from '../../xen/public/io/protocols.js';
import * as XB from '../../xen/public/io/xenbus.js';
import { Errno } from '../../xen/public/xen.js';
import type { BackendDriver, Dom0Env, GrantMap } from '../backend.js';
import type { Chaos } from '../chaos.js';
import { SECTOR, type DiskStore } from './disk.js';
import { MAX_INDIRECT_SEGMENTS } from './request.js';
import { BLK_RING_SIZE, VDISK_READONLY } from '../../xen/public/io/blkif.js';
import { sring } from '../../xen/public/io/ring.js';
import { BlkRing, newRingState, ringEntries, type BlkRingState, type RingDevice } from './ring.js';
import { xenbusSwitchState } from '../xenbus-switch.js';

/** XENBUS_MAX_RING_GRANT_ORDER: max-ring-page-order blkback offers. */
export const MAX_RING_PAGE_ORDER = 4;
/** Dom0's vCPUs as blkback counts them for multi-queue-max-queues (xenblk_max_queues = online CPUs). */
export const DOM0_VCPUS = 4;
/** The discard granularity of a loop device on a 4 KiB-block filesystem. */
const DISCARD_GRANULARITY = 4096;

/** What a device is between calls, as plain data (snapshots). */
export type VbdState = {
  fe: number;
  devid: number;
  otherend: string;
  state: number;
  major: number;
  minor: number;
  mode: string;
  readonly: boolean;
  persistent: boolean;
  rings: BlkRingState[];
};

export type DiskLookup = (major: number, minor: number) => { store: DiskStore; readonly: boolean } | null;

export class VbdDevice {
  readonly be: string;
  private rings: BlkRing[] = [];
  /** what the rings serve: updated as the disk opens and features are negotiated */
  private readonly dev: RingDevice;

  constructor(private readonly env: Dom0Env, private readonly drv: BackendDriver, private readonly disks: DiskLookup, readonly s: VbdState, chaos: Chaos | null = null) {
    this.be = `/local/domain/0/backend/vbd/${s.fe}/${s.devid}`;
    const disk = s.major !== 0 || s.minor !== 0 ? (disks(s.major, s.minor)?.store ?? null) : null;
    this.dev = { fe: s.fe, disk, readonly: s.readonly, persistent: s.persistent, name: this.name, chaos };
    this.rings = s.rings.map((r) => new BlkRing(env, r, this.dev));
  }

  get name(): string {
    return `${this.s.fe}/${this.s.devid}`;
  }

  /** xenbus_dev_probe + xen_blkbk_probe. */
  probe(): void {
    const xs = this.env.xs;
    xs.write(`${this.be}/feature-max-indirect-segments`, `${MAX_INDIRECT_SEGMENTS}`);
    xs.write(`${this.be}/multi-queue-max-queues`, `${DOM0_VCPUS}`);
    xs.watch(this.drv, `${this.be}/physical-device`, `pd:${this.name}`);
    xs.write(`${this.be}/max-ring-page-order`, `${MAX_RING_PAGE_ORDER}`);
    this.switchState(XB.XenbusStateInitWait);
    xs.watch(this.drv, `${this.s.otherend}/state`, `fe:${this.name}`);
  }

  /** The device goes (xen_blkbk_remove): its watches, rings and mappings. */
  remove(): void {
    this.env.xs.unwatch(this.drv, `${this.be}/physical-device`, `pd:${this.name}`);
    this.env.xs.unwatch(this.drv, `${this.s.otherend}/state`, `fe:${this.name}`);
    this.disconnect();
  }

  /** The frontend notified dom0 port `port`: the ring bound to it serves its requests (once connected). */
  notify(port: number): boolean {
    const r = this.rings.find((x) => x.s.port === port);
    if (r !== undefined && this.s.state === XB.XenbusStateConnected) r.process();
    return r !== undefined;
  }

  /** The earliest time a ring has a held-back response due (chaos), or -1. */
  deadline(): number {
    let t = -1;
    for (const r of this.rings) {
      const d = r.deadline();
      if (d >= 0 && (t < 0 || d < t)) t = d;
    }
    return t;
  }

  /** Push what the rings held back until `now` (chaos). */
  release(now: number): void {
    for (const r of this.rings) r.release(now);
  }

  /** backend_changed: the hotplug script wrote physical-device. */
  physicalDeviceChanged(): void {
    const xs = this.env.xs;
    const pd = xs.read(`${this.be}/physical-device`);
    const m = pd === null ? null : /^([0-9a-fA-F]+):([0-9a-fA-F]+)$/.exec(pd);
    if (pd === null) return;
    if (m === null) return void this.fatal(Errno.EINVAL, 'reading physical-device');
    const [major, minor] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)];
    if (this.s.major !== 0 || this.s.minor !== 0) return;
    const mode = xs.read(`${this.be}/mode`);
    if (mode === null) return void this.fatal(Errno.ENOENT, 'reading mode');
    xs.read(`${this.s.otherend}/device-type`);
    const disk = this.disks(major, minor);
    if (disk === null) return void this.fatal(Errno.ENOENT, 'creating vbd structure');
    Object.assign(this.s, { major, minor, mode, readonly: !mode.includes('w') || disk.readonly });
    this.dev.disk = disk.store;
    this.dev.readonly = this.s.readonly;
    this.updateStatus();
  }

  /** frontend_changed. */
  frontendChanged(): void {
    const st = this.env.xs.read(`${this.s.otherend}/state`);
    const fe = st === null ? XB.XenbusStateUnknown : Number(st);
    switch (fe) {
      case XB.XenbusStateInitialising:
        if (this.s.state === XB.XenbusStateClosed) this.switchState(XB.XenbusStateInitWait);
        return;
      case XB.XenbusStateInitialised:
      case XB.XenbusStateConnected:
        if (this.s.state === XB.XenbusStateConnected) return;
        this.disconnect();
        if (!this.connectRings()) return this.disconnect();
        return this.updateStatus();
      case XB.XenbusStateClosing:
        this.switchState(XB.XenbusStateClosing);
        return;
      case XB.XenbusStateClosed:
        this.disconnect();
        this.switchState(XB.XenbusStateClosed);
        if (this.env.xs.read(`${this.be}/online`) === '1') return;
        this.gone = true;
        return;
      case XB.XenbusStateUnknown:
        this.gone = true;
        return;
      default:
        this.fatal(Errno.EINVAL, `saw state ${fe} at frontend`);
    }
  }

  /** Set when the device must be unregistered (the driver removes it). */
  gone = false;

  /** xen_update_blkif_status: connect once rings and disk are there. */
  private updateStatus(): void {
    if (this.rings.length === 0 || this.dev.disk === null || this.s.state === XB.XenbusStateConnected) return;
    if (!this.connect()) return;
    for (const r of this.rings) r.process();
  }

  /** connect(): the device's details for the frontend, then Connected. */
  private connect(): boolean {
    const xs = this.env.xs;
    const disk = this.dev.disk!;
    const ro = this.s.readonly;
    for (let tries = 0; tries < 16; tries++) {
      const t = xs.transactionStart();
      xs.write(`${this.be}/feature-flush-cache`, ro ? '0' : '1', t);
      if (xs.read(`${this.be}/discard-enable`) !== '0') {
        if (!ro) {
          xs.write(`${this.be}/discard-granularity`, `${DISCARD_GRANULARITY}`, t);
          xs.write(`${this.be}/discard-alignment`, '0', t);
          xs.write(`${this.be}/discard-secure`, '0', t);
        }
        xs.write(`${this.be}/feature-discard`, ro ? '0' : '1', t);
      }
      xs.write(`${this.be}/feature-barrier`, ro ? '0' : '1', t);
      xs.write(`${this.be}/feature-persistent`, '1', t);
      xs.write(`${this.be}/sectors`, `${disk.sectors}`, t);
      xs.write(`${this.be}/info`, `${ro ? VDISK_READONLY : 0}`, t);
      xs.write(`${this.be}/sector-size`, `${SECTOR}`, t);
      xs.write(`${this.be}/physical-sector-size`, `${SECTOR}`, t);
      const end = xs.transactionEnd(t, true);
      if (end.ok) return this.switchState(XB.XenbusStateConnected);
      if (end.error !== 'EAGAIN') break;
    }
    this.fatal(Errno.EIO, 'ending transaction');
    return false;
  }

  /** connect_ring: read what the frontend published, map its rings, bind their channels. */
  private connectRings(): boolean {
    const xs = this.env.xs;
    const fe = this.s.otherend;
    const proto = xs.read(`${fe}/protocol`);
    if (proto === null || proto === XEN_IO_PROTO_ABI_X86_32) return this.fatal(Errno.ENOSYS, `unsupported fe protocol ${proto ?? 'unspecified, assuming default (x86_32-abi)'}: 32-bit guests are not simulated`);
    if (proto !== XEN_IO_PROTO_ABI_X86_64) return this.fatal(Errno.ENOSYS, `unknown fe protocol ${proto}`);
    this.s.persistent = readUnsigned(xs.read(`${fe}/feature-persistent`), 0) !== 0;
    this.dev.persistent = this.s.persistent;
    const queues = readUnsigned(xs.read(`${fe}/multi-queue-num-queues`), 1);
    if (queues === 0 || queues > DOM0_VCPUS) return this.fatal(Errno.ENOSYS, `guest requested ${queues} queues, exceeding the maximum of ${DOM0_VCPUS}.`);
    const orderText = xs.read(`${fe}/ring-page-order`);
    const order = orderText === null ? -1 : readUnsigned(orderText, -1);
    if (orderText !== null && (order < 0 || order > MAX_RING_PAGE_ORDER)) return this.fatal(Errno.EINVAL, `requested ring page order ${orderText} exceed max:${MAX_RING_PAGE_ORDER}`);
    const nrPages = order < 0 ? 1 : 1 << order;
    for (let q = 0; q < queues; q++) {
      const dir = queues === 1 ? fe : `${fe}/queue-${q}`;
      const evt = readUnsigned(xs.read(`${dir}/event-channel`), -1);
      if (evt < 0) return this.fatal(Errno.EINVAL, `reading ${dir}/event-channel`);
      const refs: number[] = [];
      for (let i = 0; i < nrPages; i++) {
        const key = order < 0 ? 'ring-ref' : `ring-ref${i}`;
        const ref = readUnsigned(xs.read(`${dir}/${key}`), -1);
        if (ref < 0) return this.fatal(Errno.EINVAL, `reading ${dir}/${key}`);
        refs.push(ref);
      }
      if (!this.mapRing(q, refs, evt)) return false;
    }
    return true;
  }

  /** xen_blkif_map: the ring pages (read-write), then the event channel. */
  private mapRing(queue: number, refs: number[], evt: number): boolean {
    const pages: GrantMap[] = [];
    for (const ref of refs) {
      const m = this.env.mapGrant(this.s.fe, ref, false);
      if (typeof m === 'number') {
        for (const p of pages) this.env.unmapGrant(p);
        return this.fatal(-m, `mapping in shared page ${ref} from domain ${this.s.fe}`);
      }
      pages.push(m);
    }
    // Attach where the ring's responses stand; more requests than the ring holds is a broken frontend.
    const head = this.env.frame(pages[0]!.mfn);
    const rspProd = head.getUint32(sring.rsp_prod, true);
    const reqProd = head.getUint32(sring.req_prod, true);
    const entries = pages.length === 1 ? BLK_RING_SIZE : ringEntries(pages.length);
    const port = ((reqProd - rspProd) >>> 0) > entries ? -Errno.EIO : this.env.bindInterdomain(this.drv, this.s.fe, evt);
    if (port < 0) {
      for (const p of pages) this.env.unmapGrant(p);
      return this.fatal(-port, `mapping ring-ref port ${evt}`);
    }
    const st = newRingState(queue, port, evt, refs, pages, rspProd);
    this.s.rings.push(st);
    this.rings.push(new BlkRing(this.env, st, this.dev));
    this.env.ringAdd({ kind: 'blkif', frontDom: this.s.fe, port: evt, gref: refs[0]!, mfns: pages.map((p) => p.mfn), entries: st.entries });
    return true;
  }

  /** xen_blkif_disconnect: every ring lets go of its grants and channel. */
  private disconnect(): void {
    for (const r of this.rings) r.disconnect();
    this.rings = [];
    this.s.rings = [];
  }

  /** xenbus_switch_state: read the old state and write the new one in a transaction. */
  private switchState(state: number): true {
    if (state === this.s.state) return true;
    xenbusSwitchState(this.env.xs, this.be, state);
    this.s.state = state;
    return true;
  }

  /** xenbus_dev_fatal: the error under dom0's error/ tree, then Closing. Returns false. */
  private fatal(err: number, msg: string): false {
    this.env.xs.write(`/local/domain/0/error/backend/vbd/${this.s.fe}/${this.s.devid}/error`, `${err} ${msg}`);
    this.switchState(XB.XenbusStateClosing);
    return false;
  }
}

/** xenbus_read_unsigned: a decimal (or 0x hex) value, or `dflt` when absent or malformed. */
export function readUnsigned(v: string | null, dflt: number): number {
  if (v === null || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return dflt;
  const n = Number(v);
  return n <= 0xffffffff ? n : dflt;
}
