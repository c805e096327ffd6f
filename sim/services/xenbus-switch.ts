/**
 * xenbus_switch_state as Linux's backends do it: in a transaction, read the
 * device's state key and write the new state, retried on EAGAIN; nothing
 * is written when the key is gone (the toolstack removed the device).
 * Shared by blkback and netback.
 */
import type { Dom0Xs } from './backend.js';

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
