/**
 * The xenstore entries xl (libxl, Xen 4.17) writes for a new PV domain, in
 * libxl's order and with its permissions, then XS_INTRODUCE; all sent over
 * dom0's xenstore connection, as libxl sends them. Built from the
 * scenario's domain (name, memory, vCPUs, kernel, command line) and what
 * the builder chose (ports, ring frames, UUID). index.ts runs the phases in
 * libxl__domain_create's order, with the domain's disks (disks.ts) between
 * the build and console 0.
 *
 * libxl__domain_make (libxl_create.c):
 *   /local/domain/<id>            n0 r<id>   ("roperm")
 *   /vm/<uuid>                    n0 r<id>   {uuid, name}
 *   /libxl/<id>, /libxl/<id>/device  n0       {type = "pv"}
 *   <dom>/vm, <dom>/name          (inherit roperm)
 *   <dom>/cpu, memory, device, control        roperm
 *   <dom>/device/suspend/event-channel        n<id> ("rwperm")
 *   <dom>/control/{shutdown, feature-poweroff, feature-reboot,
 *     feature-suspend, sysrq}, <dom>/{data, drivers, feature, attr, error}  rwperm
 *   <dom>/control/platform-feature-{multiprocessor-suspend, xs_reset_watches} = 1
 * libxl__build_post (libxl_dom.c):
 *   <dom>/memory/{static-max, target, videoram}, <dom>/domid,
 *   <dom>/store/{port, ring-ref}, <dom>/cpu/<n>/availability = online
 *   /vm/<uuid>/{image/ostype, image/kernel, image/cmdline, start_time}
 *   XS_INTRODUCE
 * store_libxl_entry (libxl_create.c domcreate_rebuild_done), before the disks:
 *   /libxl/<id>/dm-version = qemu_xen (libxl's default device model, PV too)
 * libxl__device_console_add for console 0 (libxl_console.c, libxl_device.c),
 * from domcreate_launch_dm, once the disks are attached:
 *   <dom>/console                 n0 r<id>   {limit, type, output, tty, port, ring-ref}
 *   <dom>/console/{backend, backend-id}       n<id> r0
 *   /local/domain/0/backend/console/<id>/0    n0 r<id>
 *     {frontend, frontend-id, online, state, protocol}
 *   /libxl/<id>/device/console/0  {frontend, backend, + the backend's entries}
 */
import type { Dom0Xs } from '../backend.js';
import { XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import { deviceDestroy } from './device.js';

export type XlDomain = {
  id: number;
  name: string;
  /** the domain handle, 8-4-4-4-12 */
  uuid: string;
  /** memory= in KiB (target), and max_memkb (static-max) */
  targetKiB: number;
  maxKiB: number;
  vcpus: number;
  storePort: number;
  storeMfn: number;
  consolePort: number;
  consoleMfn: number;
  /** kernel= and extra= as the configuration gave them */
  kernel: string;
  cmdline: string;
  /** the creation time, seconds since the epoch (start_time) */
  startTime: number;
};

/** LIBXL_XENCONSOLE_LIMIT, LIBXL_XENCONSOLE_PROTOCOL. */
const CONSOLE_LIMIT = '1048576';
const CONSOLE_PROTOCOL = 'vt100';

/** libxl__xs_mknod: a node with exactly these permissions. */
function mknod(xs: Dom0Xs, path: string, perms: string[]): void {
  xs.write(path, '');
  xs.setPerms(path, perms);
}

const paths = (d: XlDomain): { dom: string; vm: string; lx: string } => ({ dom: `/local/domain/${d.id}`, vm: `/vm/${d.uuid}`, lx: `/libxl/${d.id}` });

/** libxl__domain_make: the domain's home, /vm/<uuid> and /libxl/<id> (removing what a previous domain of that id left). */
export function domainMake(xs: Dom0Xs, d: XlDomain): void {
  const { dom, vm, lx } = paths(d);
  const ro = ['n0', `r${d.id}`];
  const rw = [`n${d.id}`];
  const no = ['n0'];
  for (const [path, perms] of [[dom, ro], [vm, ro], [lx, no]] as const) {
    xs.rm(path);
    mknod(xs, path, [...perms]);
  }
  mknod(xs, `${lx}/device`, no);
  xs.write(`${dom}/vm`, vm);
  xs.write(`${dom}/name`, d.name);
  xs.write(`${vm}/name`, d.name);
  for (const sub of ['cpu', 'memory', 'device']) mknod(xs, `${dom}/${sub}`, ro);
  mknod(xs, `${dom}/device/suspend/event-channel`, rw);
  mknod(xs, `${dom}/control`, ro);
  for (const sub of ['control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/feature-suspend', 'control/sysrq', 'data', 'drivers', 'feature', 'attr', 'error']) {
    mknod(xs, `${dom}/${sub}`, rw);
  }
  xs.write(`${vm}/uuid`, d.uuid);
  xs.write(`${dom}/control/platform-feature-multiprocessor-suspend`, '1');
  xs.write(`${dom}/control/platform-feature-xs_reset_watches`, '1');
  xs.write(`${lx}/type`, 'pv');
}

/** libxl__build_post: memory, store and cpu entries, the /vm image entries, then XS_INTRODUCE. */
export function buildPost(xs: Dom0Xs, d: XlDomain): void {
  const { dom, vm } = paths(d);
  const ents: Array<[string, string]> = [
    ['memory/static-max', `${d.maxKiB}`], ['memory/target', `${d.targetKiB}`], ['memory/videoram', '0'], ['domid', `${d.id}`],
    ['store/port', `${d.storePort}`], ['store/ring-ref', `${d.storeMfn}`],
  ];
  for (let n = 0; n < d.vcpus; n++) ents.push([`cpu/${n}/availability`, 'online']);
  for (const [k, v] of ents) xs.write(`${dom}/${k}`, v);
  const vms: Array<[string, string]> = [['image/ostype', 'linux'], ['image/kernel', d.kernel], ['start_time', `${d.startTime}.00`]];
  if (d.cmdline !== '') vms.push(['image/cmdline', d.cmdline]);
  for (const [k, v] of vms) xs.write(`${vm}/${k}`, v);
  xs.introduce(d.id, d.storeMfn, d.storePort);
}

/** libxl__device_console_add for console 0, served by xenconsoled in dom0. */
export function consoleAdd(xs: Dom0Xs, d: XlDomain): void {
  const { dom, lx } = paths(d);
  const front = `${dom}/console`;
  const back = `/local/domain/0/backend/console/${d.id}/0`;
  const bents: Array<[string, string]> = [['frontend-id', `${d.id}`], ['online', '1'], ['state', `${XenbusStateInitialising}`], ['protocol', CONSOLE_PROTOCOL]];
  xs.rm(`${lx}/device/console/0`);
  xs.write(`${lx}/device/console/0/frontend`, front);
  xs.write(`${lx}/device/console/0/backend`, back);
  xs.rm(front);
  mknod(xs, front, ['n0', `r${d.id}`]);
  xs.write(`${front}/backend`, back);
  for (const [k, v] of [['backend-id', '0']] as const) {
    xs.write(`${front}/${k}`, v);
    xs.setPerms(`${front}/${k}`, [`n${d.id}`, 'r0']);
  }
  for (const [k, v] of [['limit', CONSOLE_LIMIT], ['type', 'xenconsoled'], ['output', 'pty'], ['tty', ''], ['port', `${d.consolePort}`], ['ring-ref', `${d.consoleMfn}`]] as const) {
    xs.write(`${front}/${k}`, v);
    xs.setPerms(`${front}/${k}`, ['n0', `r${d.id}`]);
  }
  xs.rm(back);
  mknod(xs, back, ['n0', `r${d.id}`]);
  xs.write(`${back}/frontend`, front);
  for (const [k, v] of bents) xs.write(`${back}/${k}`, v);
  for (const [k, v] of bents) xs.write(`${lx}/device/console/0/${k}`, v);
}

/** libxl__device_destroy of console 0 (libxl__devices_destroy when the domain dies), if xl create got as far as adding it. */
export function consoleDestroy(xs: Dom0Xs, id: number): void {
  const be = `/local/domain/0/backend/console/${id}/0`;
  if (xs.read(`${be}/frontend`) === null) return;
  deviceDestroy(xs, { be, fePath: `/local/domain/${id}/console`, lib: `/libxl/${id}/device/console/0` });
}

/** store_libxl_entry: the device model version libxl picked (LIBXL_DEVICE_MODEL_VERSION_QEMU_XEN, for every type). */
export function storeLibxlEntry(xs: Dom0Xs, d: XlDomain): void {
  xs.write(`${paths(d).lx}/dm-version`, 'qemu_xen');
}

/** Everything xl creates for a domain without devices: libxl__domain_make, libxl__build_post (XS_INTRODUCE), dm-version, console 0. */
export function xlCreateDomain(xs: Dom0Xs, d: XlDomain): void {
  domainMake(xs, d);
  buildPost(xs, d);
  storeLibxlEntry(xs, d);
  consoleAdd(xs, d);
}
