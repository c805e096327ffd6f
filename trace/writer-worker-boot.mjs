// Entry of the trace writer thread (writer-worker.ts) when the code runs from its sources (tests, bench): TypeScript
// through tsx. bin/xenrr runs the compiled one, dist/writer-worker.js.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('./writer-worker.ts');
