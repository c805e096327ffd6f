/** What every problem with a trace file is: one line saying what and where (trace/reader.ts). */
export class TraceError extends Error {
  override name = 'TraceError';
}

export const hex = (n: number): string => `0x${n.toString(16)}`;
