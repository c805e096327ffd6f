/**
 * The toolstack's part in a guest's network interfaces: what `xl create`
 * (libxl_nic.c, libxl__device_add_async) and the `vif-bridge` hotplug
 * script write in dom0's xenstore.
 *
 * Creating a vif (one transaction), frontend domain F, device id D (the
 * vif's index in the domain's list), backend dom0:
 *   /libxl/F/device/vif/D/{frontend,backend}                    perms n0
 *   /local/domain/F/device/vif/D                       perms nF r0 (rm, mkdir)
 *     backend, then backend-id=0 state=1 handle=D mac=<mac> trusted=1
 *     (perms nF r0), and mtu=1500 (perms n0 rF: the guest reads it only)
 *   /local/domain/0/backend/vif/F/D                    perms n0 rF (rm, mkdir)
 *     frontend, then frontend-id=F online=1 state=1
 *     script=/etc/xen/scripts/vif-bridge mac=<mac> [ip=<ip>] bridge=<bridge>
 *     handle=D type=vif hotplug-status="" (empty: netback waits for the
 *     script before it reports Connected)
 *   /libxl/F/device/vif/D: a copy of the backend's keys
 * Keys are written in that order.
 *
 * Hotplug (once the backend reached InitWait): vif-bridge "online" adds
 * the interface vif<F>.<D> to the bridge (the virtual switch's plug), then
 * writes hotplug-status=connected; a bridge that does not exist makes it
 * write hotplug-error and hotplug-status=error instead.
 * Destroying: the vif leaves its bridge, and the directories go in one
 * transaction.
 */
import type { Dom0Xs } from '../backend.js';
import { XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import { deviceAdd, deviceDestroy } from './device.js';

/** A vif as the scenario describes it (xl's vif spec: mac, bridge, ip), with its device id. */
export type VifSpec = { devid: number; mac: string; bridge: string; ip?: string };

const VIF_SCRIPT = '/etc/xen/scripts/vif-bridge';
/** LIBXL_DEVICE_NIC_MTU_DEFAULT. */
const MTU = 1500;

export function vifPaths(fe: number, devid: number): { be: string; fePath: string; lib: string } {
  return { be: `/local/domain/0/backend/vif/${fe}/${devid}`, fePath: `/local/domain/${fe}/device/vif/${devid}`, lib: `/libxl/${fe}/device/vif/${devid}` };
}

/** libxl__device_nic_add: the vif's libxl, frontend and backend directories in one transaction (deviceAdd); the frontend's mtu is dom0's. */
export function nicAdd(xs: Dom0Xs, fe: number, spec: VifSpec): void {
  deviceAdd(xs, fe, vifPaths(fe, spec.devid), [
    ['backend-id', '0'], ['state', `${XenbusStateInitialising}`], ['handle', `${spec.devid}`], ['mac', spec.mac], ['trusted', '1'],
  ], [
    ['frontend-id', `${fe}`], ['online', '1'], ['state', `${XenbusStateInitialising}`], ['script', VIF_SCRIPT], ['mac', spec.mac],
    ...(spec.ip !== undefined ? [['ip', spec.ip] as [string, string]] : []), ['bridge', spec.bridge], ['handle', `${spec.devid}`], ['type', 'vif'],
    ['hotplug-status', ''],
  ], [{ key: 'mtu', value: `${MTU}`, perms: ['n0', `r${fe}`] }]);
}

/** vif-bridge "online": `plug` adds vif<F>.<D> to the bridge (false: no such bridge). */
export function vifHotplugAdd(xs: Dom0Xs, fe: number, spec: VifSpec, plug: (bridge: string, port: string) => boolean): boolean {
  const { be } = vifPaths(fe, spec.devid);
  if (!plug(spec.bridge, `vif${fe}.${spec.devid}`)) {
    xs.write(`${be}/hotplug-error`, `Could not find bridge device ${spec.bridge}`);
    xs.write(`${be}/hotplug-status`, 'error');
    return false;
  }
  xs.write(`${be}/hotplug-status`, 'connected');
  return true;
}

/** libxl__device_destroy for a vif. */
export function nicDestroy(xs: Dom0Xs, fe: number, devid: number): void {
  deviceDestroy(xs, vifPaths(fe, devid));
}
