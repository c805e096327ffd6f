/**
 * The chaos injector alone: its stream is a function of the seed, a kind
 * that is off draws nothing, rates and delays are what they say; and the
 * scenario's `chaos` field: defaults, `--chaos` over a scenario's own
 * settings, one-line errors.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, withChaos } from '../scenario.js';
import { Chaos, CHAOS_KINDS, chaosOption, DEFAULT_MAX_DELAY, DEFAULT_RATES, machineChaos, type ChaosConfig, type ChaosKind } from './chaos.js';

const rates = (r: Partial<Record<ChaosKind, number>>): Record<ChaosKind, number> => ({ ...Object.fromEntries(CHAOS_KINDS.map((k) => [k, 0])), ...r }) as Record<ChaosKind, number>;
const make = (cfg: Partial<ChaosConfig>, notes: string[] = []): Chaos => new Chaos({ seed: 1, rates: rates({}), maxDelay: 10_000, ...cfg }, (t) => notes.push(t));
const rolls = (c: Chaos, kind: ChaosKind, n: number): boolean[] => Array.from({ length: n }, () => c.roll(kind));

describe('Chaos', () => {
  it('the same seed gives the same decisions, another seed others', () => {
    const r = rates({ delay: 0.5 });
    expect(rolls(make({ seed: 7, rates: r }), 'delay', 200)).toEqual(rolls(make({ seed: 7, rates: r }), 'delay', 200));
    expect(rolls(make({ seed: 8, rates: r }), 'delay', 200)).not.toEqual(rolls(make({ seed: 7, rates: r }), 'delay', 200));
  });

  it('a kind that is off never fires and draws nothing; rate 1 always fires', () => {
    const c = make({ rates: rates({ error: 1 }) });
    const before = c.state;
    expect(rolls(c, 'drop', 100).some(Boolean)).toBe(false);
    expect(c.state).toBe(before);
    expect(rolls(c, 'error', 100).every(Boolean)).toBe(true);
    expect(c.state).not.toBe(before);
  });

  it('fires at about its rate, and delays lie within 1 µs .. maxDelay', () => {
    const c = make({ seed: 3, rates: rates({ reorder: 0.2 }), maxDelay: 50_000 });
    const n = rolls(c, 'reorder', 20_000).filter(Boolean).length;
    expect(n).toBeGreaterThan(3600);
    expect(n).toBeLessThan(4400);
    const ds = Array.from({ length: 2000 }, () => c.delay());
    expect(Math.min(...ds)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...ds)).toBeLessThan(50_000);
    expect(new Set(ds).size).toBeGreaterThan(1000);
  });

  it('pick: one draw, every variant 0 .. n-1 about as often', () => {
    const c = make({ seed: 5 });
    const before = c.state;
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[c.pick(3)]!++;
    expect(c.state).not.toBe(before);
    for (const k of counts) expect(k).toBeGreaterThan(850);
    expect(counts.reduce((x, y) => x + y)).toBe(3000);
    const d = make({ seed: 5 });
    d.pick(2);
    const e = make({ seed: 5 });
    e.delay();
    expect(d.state).toBe(e.state);
  });

  it('a restored state continues the same stream', () => {
    const a = make({ seed: 11, rates: rates({ spurious: 0.3 }) });
    rolls(a, 'spurious', 37);
    const b = make({ seed: 99, rates: rates({ spurious: 0.3 }) });
    b.state = a.state;
    expect(rolls(b, 'spurious', 100)).toEqual(rolls(a, 'spurious', 100));
  });

  it('note puts the text out', () => {
    const notes: string[] = [];
    make({}, notes).note('blkback vbd 1/51712 queue 0: drop');
    expect(notes).toEqual(['blkback vbd 1/51712 queue 0: drop']);
  });
});

describe('the scenario\'s chaos', () => {
  const base = { name: 't', domains: [{ name: 'g', kernel: 'hello' }] };
  const parse = (chaos: unknown) => parseScenario({ ...base, chaos }, 's.json');

  it('absent: no chaos, and the scenario has no such key (its identity and header are as before)', () => {
    const s = parseScenario(base, 's.json');
    expect('chaos' in s).toBe(false);
    expect(machineChaos(s)).toBeUndefined();
    expect(chaosOption(s)).toEqual({});
    expect(withChaos(s, undefined)).toBe(s);
  });

  it('defaults fill what is not given; drop and restart stay off', () => {
    expect(machineChaos(parse({ seed: 5 }))).toEqual({ seed: 5, rates: DEFAULT_RATES, maxDelay: DEFAULT_MAX_DELAY });
    expect(DEFAULT_RATES.drop).toBe(0);
    expect(DEFAULT_RATES.restart).toBe(0);
    expect(machineChaos(parse({ seed: 5, rates: { drop: 0.5, delay: 0 }, maxDelay: '2ms' }))).toEqual({ seed: 5, rates: { ...DEFAULT_RATES, drop: 0.5, delay: 0 }, maxDelay: 2_000_000 });
  });

  it('--chaos sets the seed and keeps the scenario\'s rates', () => {
    const s = withChaos(parse({ seed: 5, rates: { error: 0 } }), 9);
    expect(s.chaos).toEqual({ seed: 9, rates: { error: 0 } });
    expect(withChaos(parseScenario(base, 's.json'), 4).chaos).toEqual({ seed: 4 });
  });

  it('bad settings are one line naming the field', () => {
    const err = (chaos: unknown): string => {
      try {
        parse(chaos);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err({ seed: -1 })).toBe('s.json: chaos.seed: must be an unsigned 32-bit integer (0 to 4294967295)');
    expect(err({ seed: 1, rates: { delay: 2 } })).toBe('s.json: chaos.rates.delay: must be a probability from 0 to 1');
    expect(err({ seed: 1, rates: { lose: 0.1 } })).toMatch(/^s\.json: chaos\.rates: .*lose/);
    expect(err({ seed: 1, maxDelay: '1ns' })).toMatch(/^s\.json: chaos\.maxDelay: must be a virtual time of at least 1us/);
    expect(err({ rates: {} })).toMatch(/^s\.json: chaos\.seed: /);
    for (const m of [err({ seed: 1, rates: { delay: 2 } }), err({ seed: 1, maxDelay: 'soon' })]) expect(m).not.toContain('\n');
  });
});
