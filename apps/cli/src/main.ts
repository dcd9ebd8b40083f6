// The `nexthop` command's entry. Node caches the compiled (type-stripped) modules on disk so that a
// command starts in about half the time; the cache checks each source's hash, so it never runs stale
// code. The cache must be on before the first import, hence this file and its dynamic import.
import { enableCompileCache } from 'node:module';

enableCompileCache();
await import('./cli.ts');
