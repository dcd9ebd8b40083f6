// nexthopd's entry. The compiled-module cache must be on before the first import (see
// apps/vr/src/main.ts), hence the dynamic import.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./nexthopd-main.ts');
