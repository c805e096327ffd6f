// Entry of the gdbserver's worker thread (worker.ts) when the code runs from its sources (tests, bench): TypeScript
// through tsx. bin/xenrr runs the compiled worker, dist/gdb-worker.js.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./worker.ts');
