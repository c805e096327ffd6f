/**
 * The xenstore entries xl (libxl, Xen 4.17) writes for a new PV domain, in
 * libxl's order and with its permissions, then XS_INTRODUCE. One place
 * builds them all, from the scenario's domain (name, memory, vCPUs, kernel,
 * command line) and what the builder chose (ports, ring frames, UUID).
 * This is xl creating a domain; what xl then does to a running one
 * (shutdown, sysrq, pause, destroy) is sim/toolstack-actions.ts.
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
 * libxl__device_console_add for console 0 (libxl_console.c, libxl_device.c):
 *   <dom>/console                 n0 r<id>   {limit, type, output, tty, port, ring-ref}
 *   <dom>/console/{backend, backend-id}       n<id> r0
 *   /local/domain/0/backend/console/<id>/0    n0 r<id>
 *     {frontend, frontend-id, online, state, protocol}
 *   /libxl/<id>/device/console/0  {frontend, backend, + the backend's entries}
 * Devices (vbd, vif) are not created here.
 */
import type { XenStore } from './xenstored.js';

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

/** LIBXL_XENCONSOLE_LIMIT, LIBXL_XENCONSOLE_PROTOCOL; XenbusStateInitialising. */
const CONSOLE_LIMIT = '1048576';
const CONSOLE_PROTOCOL = 'vt100';
const XENBUS_INITIALISING = '1';

/** libxl__xs_mknod: a node with exactly these permissions. */
function mknod(s: XenStore, path: string, perms: string[]): void {
  s.write(path, '');
  s.setPerms(path, perms);
}

/** Everything xl creates for domain `d` (removing what a previous domain of that id left), then XS_INTRODUCE. */
export function xlCreateDomain(s: XenStore, d: XlDomain): void {
  const dom = `/local/domain/${d.id}`;
  const vm = `/vm/${d.uuid}`;
  const lx = `/libxl/${d.id}`;
  const ro = ['n0', `r${d.id}`];
  const rw = [`n${d.id}`];
  const no = ['n0'];

  // libxl__domain_make
  for (const [path, perms] of [[dom, ro], [vm, ro], [lx, no]] as const) {
    s.rm(path);
    mknod(s, path, [...perms]);
  }
  mknod(s, `${lx}/device`, no);
  s.write(`${dom}/vm`, vm);
  s.write(`${dom}/name`, d.name);
  s.write(`${vm}/name`, d.name);
  for (const sub of ['cpu', 'memory', 'device']) mknod(s, `${dom}/${sub}`, ro);
  mknod(s, `${dom}/device/suspend/event-channel`, rw);
  mknod(s, `${dom}/control`, ro);
  for (const sub of ['control/shutdown', 'control/feature-poweroff', 'control/feature-reboot', 'control/feature-suspend', 'control/sysrq', 'data', 'drivers', 'feature', 'attr', 'error']) {
    mknod(s, `${dom}/${sub}`, rw);
  }
  s.write(`${vm}/uuid`, d.uuid);
  s.write(`${dom}/control/platform-feature-multiprocessor-suspend`, '1');
  s.write(`${dom}/control/platform-feature-xs_reset_watches`, '1');
  s.write(`${lx}/type`, 'pv');

  // libxl__build_post
  const ents: Array<[string, string]> = [
    ['memory/static-max', `${d.maxKiB}`], ['memory/target', `${d.targetKiB}`], ['memory/videoram', '0'], ['domid', `${d.id}`],
    ['store/port', `${d.storePort}`], ['store/ring-ref', `${d.storeMfn}`],
  ];
  for (let n = 0; n < d.vcpus; n++) ents.push([`cpu/${n}/availability`, 'online']);
  for (const [k, v] of ents) s.write(`${dom}/${k}`, v);
  const vms: Array<[string, string]> = [['image/ostype', 'linux'], ['image/kernel', d.kernel], ['start_time', `${d.startTime}.00`]];
  if (d.cmdline !== '') vms.push(['image/cmdline', d.cmdline]);
  for (const [k, v] of vms) s.write(`${vm}/${k}`, v);
  s.introduceDomain(d.id);

  // libxl__device_console_add, console 0 (backend dom0: xenconsoled)
  const front = `${dom}/console`;
  const back = `/local/domain/0/backend/console/${d.id}/0`;
  const bents: Array<[string, string]> = [['frontend-id', `${d.id}`], ['online', '1'], ['state', XENBUS_INITIALISING], ['protocol', CONSOLE_PROTOCOL]];
  s.rm(`${lx}/device/console/0`);
  s.write(`${lx}/device/console/0/frontend`, front);
  s.write(`${lx}/device/console/0/backend`, back);
  s.rm(front);
  mknod(s, front, ['n0', `r${d.id}`]);
  s.write(`${front}/backend`, back);
  for (const [k, v] of [['backend-id', '0']] as const) {
    s.write(`${front}/${k}`, v);
    s.setPerms(`${front}/${k}`, [`n${d.id}`, 'r0']);
  }
  for (const [k, v] of [['limit', CONSOLE_LIMIT], ['type', 'xenconsoled'], ['output', 'pty'], ['tty', ''], ['port', `${d.consolePort}`], ['ring-ref', `${d.consoleMfn}`]]) {
    s.write(`${front}/${k}`, v!);
    s.setPerms(`${front}/${k}`, ['n0', `r${d.id}`]);
  }
  s.rm(back);
  mknod(s, back, ['n0', `r${d.id}`]);
  s.write(`${back}/frontend`, front);
  for (const [k, v] of bents) s.write(`${back}/${k}`, v);
  for (const [k, v] of bents) s.write(`${lx}/device/console/0/${k}`, v);
}
