/**
 * Valid general-purpose instructions the core does not implement, outside
 * the x87/SSE families: the hardware random-number and processor-id reads.
 * CPUID does not offer them, but a CPU that has them executes them
 * whatever CPUID says, so a guest using them stops the run with their name
 * rather than taking a #UD its hardware would not raise. (Their results are
 * outside inputs a recording would have to capture.)
 */
import { opUnimpl } from '../decode-ext.js';
import type { OpEntry } from '../optable.js';

const CLASS = 'random numbers / processor id';

export const MISC_UNIMPL_OPS: OpEntry[] = [
  { code: 0xc7, map: 1, mod: 'reg', ext: 6, mn: 'rdrand', ops: 'Rv', fn: opUnimpl, unimpl: CLASS },
  { code: 0xc7, map: 1, mod: 'reg', ext: 7, mn: 'rdseed', ops: 'Rv', fn: opUnimpl, unimpl: CLASS },
  { code: 0xc7, map: 1, pfx: 0xf3, mod: 'reg', ext: 7, mn: 'rdpid', ops: 'Rq', fn: opUnimpl, unimpl: CLASS },
];
