/**
 * `xenrr record`'s default guest instructions between checkpoints (here,
 * apart from the recorder, so that the command's help loads no simulator).
 * A checkpoint costs what the guests' touched memory costs to hash and
 * compress (measured, bench/checkpoint-bench.ts: 25 ms and 0.1 MB for a
 * corpus guest, 0.6 s and 15 MB for 64 MiB touched, as a Linux kernel's
 * image alone is); a seek re-executes at most this many instructions (2 s
 * at the core's 120 MIPS on compute code). At this spacing a 64 MiB guest
 * pays under a tenth of its recording time for checkpoints.
 */
export const CHECKPOINT_INSNS = 250_000_000;
