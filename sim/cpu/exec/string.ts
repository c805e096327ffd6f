import type { OpEntry } from '../optable.js';

export const STRING_OPS: OpEntry[] = [];
