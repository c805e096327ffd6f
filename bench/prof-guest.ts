// Profiling aid: run one compute guest on the bare core a few times (node --cpu-prof --import tsx bench/prof-guest.ts NAME [N]).
import { readFileSync } from 'node:fs';
import { runFlat } from '../sim/cpu/flat.js';

const name = process.argv[2] ?? 'crc32';
const image = readFileSync(new URL(`../build/corpus/${name}.elf`, import.meta.url));
for (let k = 0; k < Number(process.argv[3] ?? 3); k++) {
  const t0 = process.hrtime.bigint();
  const r = runFlat(image);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${name}: ${r.instructions} insns, ${s.toFixed(2)} s, ${(r.instructions / s / 1e6).toFixed(1)} MIPS\n`);
}
