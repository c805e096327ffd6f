// Profiling aid: run compute guests on the bare core a few times (node --cpu-prof --import tsx/esm bench/prof-guest.ts NAME[,NAME...] [N]).
import { readFileSync } from 'node:fs';
import { runFlat } from '../sim/cpu/flat.js';

for (const name of (process.argv[2] ?? 'crc32').split(',')) {
  const image = readFileSync(new URL(`../build/corpus/${name}.elf`, import.meta.url));
  for (let k = 0; k < Number(process.argv[3] ?? 3); k++) {
    const t0 = process.hrtime.bigint();
    const u0 = process.cpuUsage();
    const r = runFlat(image);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const u = process.cpuUsage(u0);
    const cpu = (u.user + u.system) / 1e6;
    process.stdout.write(`${name}: ${r.instructions} insns, ${s.toFixed(2)} s, ${(r.instructions / s / 1e6).toFixed(1)} MIPS wall, ${(r.instructions / cpu / 1e6).toFixed(1)} MIPS cpu\n`);
  }
}
