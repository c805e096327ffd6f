import type { OpEntry } from '../optable.js';

export const SHIFT_OPS: OpEntry[] = [];
