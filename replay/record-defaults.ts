/**
 * `xenrr record`'s default guest instructions between checkpoints (here,
 * apart from the recorder, so that the command's help loads no simulator).
 * A checkpoint costs what changed since the last one (bench/checkpoint-bench.ts:
 * with 1% of 64 MiB of touched memory rewritten, 10 ms and 0.2 MB; the
 * first checkpoint stores what the guest wrote since it was loaded); a seek
 * re-executes at most this many instructions (2 s at the core's 120 MIPS on
 * compute code, 6 s at a Linux boot's 40) after restoring the checkpoint
 * before it (0.1 to 1 s). The Linux boot to power-off takes 8 at this
 * spacing, in a 5 MB trace, for no recording time measurable over the
 * host's noise.
 */
export const CHECKPOINT_INSNS = 250_000_000;
