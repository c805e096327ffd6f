/**
 * Seeded fault injection for dom0's backends (`--chaos SEED`, a scenario's
 * `chaos`): one injector per machine, shared by every backend that adopts
 * it (blkback and netback call the same `roll`/`delay`/`pick`/`note`).
 *
 * The injector is a PRNG (mulberry32, 32-bit state) seeded from the chaos
 * seed and drawn from only at the backends' decision points, each of which
 * is a well-defined point of the simulation (a response made, a push that
 * needs a notify, a frontend's kick): the stream of decisions is a function
 * of the simulation, and a replay, rebuilt from the header's scenario (which
 * holds the chaos settings), makes the same ones. A kind whose rate is 0
 * draws nothing. The state is part of the snapshot (`state`).
 *
 * Every injected fault is put in the trace as an INPUT event of source
 * "chaos" naming what was injected, where (which backend, device, ring)
 * and to what (request id...), so dump shows it and diff against a run
 * without chaos finds it at (or next to) the first divergence.
 *
 * Kinds (how a backend applies them is its own business: blkback's ring.ts,
 * netback's queue.ts; netback draws only delay, spurious, error and drop):
 * - delay: a completion is made some virtual time later (1 µs .. maxDelay);
 * - reorder: a completion is held back until the next one is pushed;
 * - spurious: a notification with nothing new behind it;
 * - error: a request that would succeed fails (an I/O error);
 * - drop: a push that needed a notification gets none (a protocol bug: the
 *   frontend may sleep for ever; `check --protocol` reports a lost wake-up);
 * - restart: the backend driver restarts (unload, then load 1 ms later),
 *   the devices going Closed and through the xenbus handshake again.
 * drop and restart are off unless their rate is given.
 */
import { parseTime, type ScenarioChaos } from '../scenario.js';

export const CHAOS_KINDS = ['delay', 'reorder', 'spurious', 'error', 'drop', 'restart'] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

/** Per-opportunity probabilities when the scenario names none. */
export const DEFAULT_RATES: Readonly<Record<ChaosKind, number>> = { delay: 0.2, reorder: 0.2, spurious: 0.1, error: 0.03, drop: 0, restart: 0 };
/** The longest injected delay when the scenario names none (ns). */
export const DEFAULT_MAX_DELAY = 500_000;
/** The shortest injected delay (ns). */
const MIN_DELAY = 1_000;

export type ChaosConfig = { seed: number; rates: Record<ChaosKind, number>; maxDelay: number };

export class Chaos {
  private s: number;
  /** rate * 2^32, per kind: a draw below it injects */
  private readonly limit: Record<ChaosKind, number>;

  constructor(readonly config: ChaosConfig, private readonly emit: (text: string) => void) {
    this.s = config.seed >>> 0;
    this.limit = Object.fromEntries(CHAOS_KINDS.map((k) => [k, Math.round(config.rates[k] * 2 ** 32)])) as Record<ChaosKind, number>;
  }

  /** mulberry32: the next 32-bit draw. */
  private next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = Math.imul(this.s ^ (this.s >>> 15), 1 | this.s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Whether to inject a fault of `kind` at this opportunity (one draw, none for a kind that is off). */
  roll(kind: ChaosKind): boolean {
    const l = this.limit[kind];
    return l > 0 && this.next() < l;
  }

  /** How long an injected delay is, ns (one draw). */
  delay(): number {
    return MIN_DELAY + Math.floor((this.next() / 2 ** 32) * Math.max(1, this.config.maxDelay - MIN_DELAY));
  }

  /** Which of `n` variants an injected fault takes, 0 .. n-1 (one draw). */
  pick(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  /** Put an injected fault in the trace: `what` names it. */
  note(what: string): void {
    this.emit(what);
  }

  get state(): number {
    return this.s;
  }
  set state(s: number) {
    this.s = s >>> 0;
  }
}

/** A scenario's chaos for the machine (defaults filled in), or undefined without. */
export function machineChaos(s: { chaos?: ScenarioChaos }): ChaosConfig | undefined {
  const c = s.chaos;
  if (c === undefined) return undefined;
  const given = Object.entries(c.rates ?? {}).filter(([, v]) => v !== undefined);
  return { seed: c.seed, rates: { ...DEFAULT_RATES, ...Object.fromEntries(given) }, maxDelay: c.maxDelay === undefined ? DEFAULT_MAX_DELAY : parseTime(c.maxDelay)! };
}

/** MachineOptions' `chaos` for a scenario: none without. */
export function chaosOption(s: { chaos?: ScenarioChaos }): { chaos?: ChaosConfig } {
  const c = machineChaos(s);
  return c === undefined ? {} : { chaos: c };
}
