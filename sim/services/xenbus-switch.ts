/**
 * xenbus_switch_state as Linux's backends do it: in a transaction, read the
 * device's state key and write the new state, retried on EAGAIN; nothing
 * is written when the key is gone (the toolstack removed the device).
 * Shared by blkback and netback, with the bus's device-changed rule below.
 */
import type { Dom0Xs } from './backend.js';
import { XenbusStateInitialising } from '../xen/public/io/xenbus.js';

/** Transactions retried on EAGAIN at most this often. */
const MAX_TRIES = 16;

/** Writes `state` to `<be>/state` unless the directory is gone. */
export function xenbusSwitchState(xs: Dom0Xs, be: string, state: number): void {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const t = xs.transactionStart();
    if (xs.read(`${be}/state`, t) === null) {
      xs.transactionEnd(t, false);
      break;
    }
    xs.write(`${be}/state`, `${state}`, t);
    const end = xs.transactionEnd(t, true);
    if (end.ok || end.error !== 'EAGAIN') break;
  }
}

/**
 * xenbus_dev_changed for a watch firing on `path` under a backend root
 * (`/local/domain/0/backend/<type>`): the device `<fe>/<devid>` it names
 * went away (`gone`, a device the backend knows), or appeared in state
 * Initialising and is not known yet (`probe`); anything else is nothing.
 */
export function devChanged<D>(xs: Dom0Xs, root: string, path: string, devices: ReadonlyMap<string, D>): { gone: D } | { probe: { fe: number; devid: number; be: string } } | null {
  if (!path.startsWith(`${root}/`)) return null;
  const m = /^(\d+)\/(\d+)(\/|$)/.exec(path.slice(root.length + 1));
  if (m === null) return null;
  const name = `${m[1]}/${m[2]}`;
  const be = `${root}/${name}`;
  const exists = xs.directory(be) !== null;
  const dev = devices.get(name);
  if (!exists && dev !== undefined) return { gone: dev };
  if (!exists || dev !== undefined || xs.read(`${be}/state`) !== `${XenbusStateInitialising}`) return null;
  return { probe: { fe: Number(m[1]), devid: Number(m[2]), be } };
}
