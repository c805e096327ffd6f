/**
 * `xenrr record`'s default guest instructions between checkpoints (here,
 * apart from the recorder, so that the command's help loads no simulator).
 * A checkpoint costs what changed since the last one (bench/checkpoint-bench.ts:
 * with 1% of 64 MiB of touched memory rewritten, 10 ms and 0.2 MB; the
 * first checkpoint stores what the guest wrote since it was loaded); a seek
 * re-executes at most this many instructions after restoring the checkpoint
 * before it. Measured on the Linux boot (2.08e9 instructions, 2-core AMD
 * EPYC, `npm run bench -- linux`, boot row, the same 3 random seeks each):
 *
 * | spacing | checkpoints | trace MB | seeks cpu s (median/max) | --to last event | recorded cpu s |
 * |---|---|---|---|---|---|
 * | 250M | 8 | 5.1 | up to 4.1 | | |
 * | 100M | 20 | 5.91 | 1.1/2.8 | 3.8 | 20.6 |
 * | 50M | 41 | 7.73 | 1.2/2.3 | 3.0 | 20.0 |
 *
 * (that host loaded by other work; quiet, the 100M max was 2.16 s). 50M keeps
 * a seek's re-execution under ~0.5 s warm for a third more trace and no
 * recording time measurable over noise; what is left of a seek is restoring
 * the checkpoint and, in a fresh process, decoding the kernel image.
 */
export const CHECKPOINT_INSNS = 50_000_000;
