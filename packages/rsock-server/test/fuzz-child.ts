// The unprivileged half of fuzz.test.ts, run as another uid: `node fuzz-child.ts PATH SEED RUNS BATCH`.
// Prints `ok <sequences>` or the failure; the parent checks the server's side.
import fc from 'fast-check';
import { answersHello, runSequence, sequenceArb } from './fuzz.ts';

const [path, seed, runs, batch] = process.argv.slice(2);
const size = Number(batch);
try {
  await fc.assert(
    fc.asyncProperty(fc.array(sequenceArb, { minLength: size, maxLength: size }), async (seqs) => {
      await Promise.all(seqs.map((s) => runSequence(path!, s)));
      const answer = await answersHello(path!);
      if (answer !== 'hello-ok') throw new Error(`a fresh HELLO got ${answer}`);
    }),
    { seed: Number(seed), numRuns: Number(runs), endOnFailure: true },
  );
  process.stdout.write(`ok ${Number(runs) * size}\n`);
  process.exit(0);
} catch (err) {
  process.stdout.write(`${String(err)}\n`);
  process.exit(1);
}
