/**
 * `xenrr record`'s default checkpoint spacing, and the seek-cost rule that
 * places checkpoints (replay/record.ts); here, apart from the recorder, so
 * that the command's help loads no simulator.
 *
 * A seek restores the checkpoint before its target on a fresh machine (no
 * code decoded or translated) and re-executes from there. Instructions
 * alone measure that badly: on the Linux boot a fast loop re-executes at
 * 600-1,100 MIPS, the kernel's init code at 15-25 (decoded, interpreted,
 * hot enough to be called thousands of times, not enough to be translated)
 * and its printk-heavy stretches slower still. So the recorder also counts
 * *seek cost* since the last checkpoint (`seekCost`):
 *
 *   instructions
 *   + min(COST_PER_ENTRY x code-frame entries, (COLD_INSN_COST - 1) x instructions)
 *   + COST_PER_EVENT x events
 *
 * A code-frame entry is execution entering a block in another physical
 * frame than the previous block's, each frame counted at most ENTRY_CAP
 * times since the last checkpoint (sim/cpu/cpu.ts Cpu.codeEntries): code
 * spread over many frames and not yet hot. Entries *classify* code well
 * (per 5e7 instructions of the boot: ~3,000 in the p2m loop, ~85,000 in
 * /init's loops, 250,000-1,000,000 in kernel init) but do not measure its
 * cost (two init intervals with the same entries re-execute in 0.9 and 2.6
 * s), so they only raise an instruction's cost up to COLD_INSN_COST: cold
 * code gets checkpoints COLD_INSN_COST times as dense as hot code. Events
 * (console output, hypercalls: a slice ends at each) add on top. All three
 * counts are deterministic and the same translated or not
 * (replay/jit-determinism.test.ts, replay/checkpoint-cost.test.ts).
 *
 * A checkpoint is taken when CHECKPOINT_COST of seek cost or
 * CHECKPOINT_INSNS instructions (or `--checkpoint-every` events) have
 * passed, whichever first. Traces record their spacing in the header;
 * readers use the checkpoints the index lists and assume no rule.
 */
export const COST_PER_ENTRY = 500;
export const COLD_INSN_COST = 3;
export const COST_PER_EVENT = 2_500;

/** Seek cost of `insns` instructions with `entries` capped code-frame entries and `events` events (see above). */
export function seekCost(insns: number, entries: number, events: number): number {
  return insns + Math.min(COST_PER_ENTRY * entries, (COLD_INSN_COST - 1) * insns) + COST_PER_EVENT * events;
}

/**
 * Measured on the Linux boot (2.08e9 instructions, 91,345 events; 2-core
 * AMD EPYC shared with another agent's CPU benchmarks, load 1-3).
 * `all intervals`: the CPU time of a fresh session seeking to just before
 * each checkpoint (restoring the one before and re-executing the whole
 * interval: the honest worst case), every interval of the traces compared
 * interleaved in one process, max and the mean weighted by interval
 * length; the rest from `npm run bench -- linux`, boot row (3 random seeks;
 * overhead: fastest recording against fastest lean run, 2 each). Record
 * overhead interleaved in one process, 3-4 runs each, fastest to fastest:
 * 8.4 % for 50M, 12.6 % for the cost rule (the same counting without its
 * checkpoints costs nothing measurable: the extra is the checkpoints' own,
 * more of them in init code, which writes much memory).
 *
 * | rule | checkpoints | trace MB | all intervals max / mean cpu s | fresh process max (top 5) | bench seeks median/max | --to last event | bench overhead |
 * |---|---|---|---|---|---|---|---|
 * | every 50M insns (before) | 41 | 7.72 | 1.83-2.15 / 0.59-0.65 | 4.28 (3.4-4.3) | 1.5/2.2 | 3.0 | 2.4 % |
 * | every 25M insns | 83 | 11 | | | up to 1.90 | | checkpoint CPU x2 |
 * | cost 100M, cold x2.5, 2,500/event | 32 | 8.11 | 2.34 / 0.65 | | | | |
 * | cost 100M, cold x3, 2,500/event (default until the writer thread) | 35 | 8.61 | 1.72-1.85 / 0.55-0.61 | 3.14 (2.8-3.1) | 1.7/1.9, 2.0/2.1 | 1.2-1.3 | 10.3-10.9 % |
 * | cost 100M, cold x3, no event term | 32 | 8.25 | 2.29-2.93 / 0.63-0.71 | | | | |
 * | cost 300M, 1,000/entry, no x3 ceiling | 46 | 10.4 | | | | | |
 *
 * `fresh process`: each interval's seek alone in a new process (as
 * `xenrr replay --to` makes it: no code translated before), the two
 * traces' intervals alternating, load under 1. In one process the runs
 * vary by a quarter from sweep to sweep (the two rules' max were 1.83 and
 * 1.85 in the quietest one): there the gain is within noise, in fresh
 * processes it is a quarter of the worst seek.
 *
 * Without the x3 ceiling, entries weighted linearly (fitted to the seek
 * times) put checkpoints no better than evenly at equal trace size: the
 * fit's error (up to 0.8 s per 5e7 interval) decides the max. Earlier, by
 * instructions alone: 250M, 8 checkpoints, 5.1 MB, seeks up to 4.1 s;
 * 100M, 20, 5.91 MB, 1.1/2.8, --to last 3.8 s. With `--checkpoint-cost 0`
 * the spacing is CHECKPOINT_INSNS alone, now twice the 50M it was.
 *
 * Since a writer thread hashes, compresses and writes the checkpoints
 * (trace/writer-thread.ts), the recorder's own thread spends ~4 ms on one
 * (the machine state as JSON, ~0.45 MB on the boot, and a copy of the
 * changed pages) instead of ~25; so the same rule runs at half the
 * spacing. Measured on a quiet 2-core AMD EPYC, the runs of each spacing
 * interleaved with lean runs in one process, 3-5 rounds, fastest against
 * fastest after the first (cold) round; `every interval` as above, one
 * sweep (the first seek of a process pays its warm-up, 1.6-2.2 s whatever
 * the spacing, and is left out):
 *
 * | spacing | checkpoints | trace MB | every interval max cpu s | overhead: main thread / wall / process cpu |
 * |---|---|---|---|---|
 * | 100M, in the recorder's thread (before) | 35 | 8.61 | 2.07 | 12.3 % / 13.4 % / 17 % |
 * | 60M, writer thread | 62 | 10.55 | 1.54 | 6.9 % / 7.6 % / |
 * | 50M, writer thread (default) | 76 | 11.61 | 1.17 | 6.0-8.2 % / 8.3-10.7 % / 25 % |
 * | 40M, writer thread | 95 | 12.83 | 1.22 | 4.4-10.7 % / 6.4-11.9 % / 27 % |
 *
 * At 50M the recorder's thread pays ~2.7 % for the events themselves
 * (building and encoding 91,345 of them: a run with no checkpoints), ~4 %
 * for the checkpoints (~5.8 ms each: the state JSON and the page list 3.8,
 * packing and posting 2); the writer thread's ~1.2 s of CPU goes on the
 * other core, where V8 compiles too (wall time suffers a little from
 * sharing it; lowering the writer's priority changed nothing measurable).
 */
export const CHECKPOINT_INSNS = 100_000_000;
export const CHECKPOINT_COST = 50_000_000;
/** Events between checkpoints at most (event-dense runs). */
export const CHECKPOINT_EVERY = 50_000;
/** `xenrr record`'s checkpoint spacing when no option changes it (the benchmarks record as users do). */
export const RECORD_DEFAULTS = { checkpointEvery: CHECKPOINT_EVERY, checkpointInsns: CHECKPOINT_INSNS, checkpointCost: CHECKPOINT_COST } as const;
