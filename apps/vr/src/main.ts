// The VR process on its own: what nexthopd spawns, one per configured router.
//   node apps/vr/src/main.ts --config FILE --name NAME --run-dir DIR
// The compiled-module cache halves the start (and so a crashed VR's restart); it must be on before
// the first import of the VR's modules, hence the dynamic import.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./vr-main.ts');
