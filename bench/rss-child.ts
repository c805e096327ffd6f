/**
 * Child process for the RSS bench: `touch` runs a 128 MiB guest that writes
 * one byte in each 4 KiB page of 8 MiB; `baseline` loads the same modules and
 * runs nothing. Prints the process's peak RSS in KiB.
 */
import { BareHost } from '../sim/cpu/bare-host.js';
import { Cpu } from '../sim/cpu/cpu.js';
import { PhysMem } from '../sim/cpu/phys-mem.js';

if (process.argv[2] === 'touch') {
  const mem = new PhysMem(128 << 20);
  // mov edi, 0x200000; mov ecx, 2048; L: mov [rdi], al; add rdi, 4096; dec ecx; jnz L; hlt
  const code = [0xbf, 0, 0, 0x20, 0, 0xb9, 0, 8, 0, 0, 0x88, 0x07, 0x48, 0x81, 0xc7, 0, 0x10, 0, 0, 0xff, 0xc9, 0x75, 0xf3, 0xf4];
  mem.write(0x1000, Uint8Array.from(code));
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.rip = 0x1000n;
  while (!host.halted) cpu.run(1_000_000);
  if (mem.framesTouched < 2048) throw new Error(`touched only ${mem.framesTouched} frames`);
}
process.stdout.write(`${process.resourceUsage().maxRSS}\n`);
