import type { OpEntry } from '../optable.js';

export const BITS_OPS: OpEntry[] = [];
