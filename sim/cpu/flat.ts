/**
 * The flat harness: runs a freestanding ELF64 program on the bare core, the
 * way the compute guests in corpus/compute expect (entry.S): PT_LOAD segments
 * at their physical addresses, paging off (virtual = physical), CPL 0,
 * output through I/O port 0xE9, `hlt` to finish with the exit code in EAX.
 */
import { parseElf, SegmentType } from '../elf.js';
import { BareHost } from './bare-host.js';
import { Cpu } from './cpu.js';
import { unimplementedText } from './disasm.js';
import { ExitKind } from './fault.js';
import { PhysMem } from './phys-mem.js';

export type FlatResult = {
  /** what the program wrote to port 0xE9 */
  output: string;
  /** EAX at hlt, or null when it stopped otherwise */
  exitCode: number | null;
  /** 'halt' | 'exception' | 'budget' | 'unimplemented' (an instruction the core does not implement) */
  stop: 'halt' | 'exception' | 'budget' | 'unimplemented';
  /** when stop is 'exception': vector, error code and RIP */
  exception?: { vector: number; errorCode: number; rip: bigint };
  /** when stop is 'unimplemented': `unimplemented instruction \`fadd\` (d8 c1) at rip 0x...` */
  unimplemented?: string;
  instructions: number;
  /** 4 KiB frames the program touched */
  framesTouched: number;
};

export type FlatOptions = {
  /** physical memory in bytes (default 16 MiB) */
  memory?: number;
  /** instruction budget (default 2e9) */
  maxInsns?: number;
  /** instructions per run() call; the loop between calls is where a scheduler would sit */
  quantum?: number;
};

/** Load `image` into a fresh machine and return the CPU ready at the entry point. */
export function loadFlat(image: Uint8Array, memory = 16 << 20): { cpu: Cpu; host: BareHost; mem: PhysMem } {
  const elf = parseElf(image);
  const mem = new PhysMem(memory);
  for (const seg of elf.segments) {
    if (seg.type !== SegmentType.LOAD || seg.memsz === 0) continue;
    const pa = Number(seg.paddr);
    if (pa + seg.memsz > memory) throw new RangeError(`segment at 0x${pa.toString(16)} (+${seg.memsz}) does not fit in ${memory / 2 ** 20} MiB`);
    mem.write(pa, seg.data);
    if (seg.memsz > seg.filesz) mem.fill(pa + seg.filesz, seg.memsz - seg.filesz);
  }
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.rip = elf.header.entry;
  return { cpu, host, mem };
}

export function runFlat(image: Uint8Array, opts: FlatOptions = {}): FlatResult {
  const { cpu, host, mem } = loadFlat(image, opts.memory);
  const max = opts.maxInsns ?? 2e9;
  const quantum = opts.quantum ?? 1_000_000;
  let stop: FlatResult['stop'] = 'budget';
  let exception: FlatResult['exception'];
  let unimplemented: string | undefined;
  while (cpu.icount < max) {
    const e = cpu.run(Math.min(quantum, max - cpu.icount));
    if (e.kind === ExitKind.HOST && host.halted) {
      stop = 'halt';
      break;
    }
    if (e.kind === ExitKind.EXCEPTION) {
      stop = 'exception';
      exception = { vector: e.vector, errorCode: e.errorCode, rip: cpu.rip };
      break;
    }
    if (e.kind === ExitKind.UNIMPLEMENTED) {
      stop = 'unimplemented';
      const pa = cpu.mmu.peekPhys(cpu.ripLo, cpu.ripHi);
      const what = pa < 0 ? 'unimplemented instruction (unreadable)' : unimplementedText(mem.read(pa, Math.min(15, mem.frameCount * 4096 - pa)), cpu.rip);
      unimplemented = `${what} at rip 0x${cpu.rip.toString(16)}`;
      break;
    }
  }
  return {
    output: Buffer.from(host.console).toString('latin1'),
    exitCode: stop === 'halt' ? cpu.r[0]! | 0 : null,
    stop,
    ...(exception ? { exception } : {}),
    ...(unimplemented !== undefined ? { unimplemented } : {}),
    instructions: cpu.icount,
    framesTouched: mem.framesTouched,
  };
}
