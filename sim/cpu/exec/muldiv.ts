import type { OpEntry } from '../optable.js';

export const MULDIV_OPS: OpEntry[] = [];
