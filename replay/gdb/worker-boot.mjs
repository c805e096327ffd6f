// Entry of the gdbserver's worker thread (worker.ts): TypeScript through tsx, as bin/xenrr loads it.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./worker.ts');
