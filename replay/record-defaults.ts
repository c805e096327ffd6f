/**
 * `xenrr record`'s default guest instructions between checkpoints (here,
 * apart from the recorder, so that the command's help loads no simulator).
 * A checkpoint costs what changed since the last one (bench/checkpoint-bench.ts:
 * with 1% of 64 MiB of touched memory rewritten, 10 ms and 0.2 MB; the
 * first checkpoint stores what the guest wrote since it was loaded); a seek
 * re-executes at most this many instructions after restoring the checkpoint
 * before it (0.4 to 0.8 s for a Linux boot's). Measured on the Linux boot
 * (2.08e9 instructions, 2-core AMD EPYC): at 250M, 8 checkpoints, a 5.1 MB
 * trace and random seeks up to 4.1 s; at 100M, 20 checkpoints, 5.8 MB and
 * seeks bounded near 1.5 s, for no recording time measurable over noise.
 */
export const CHECKPOINT_INSNS = 100_000_000;
