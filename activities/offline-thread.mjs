// Entry of an offline simulation thread: a thread starts without its parent's TypeScript loader,
// so it registers tsx itself (as bin/kvsweep.js does) and hands over to offline-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./offline-thread.ts');
