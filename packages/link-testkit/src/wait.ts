/**
 * Resolves once `condition()` holds, checking every few milliseconds; rejects after `timeoutMs`
 * so that a broken driver fails the test instead of hanging it.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Lets the event loop run for a while (for checks that something does *not* happen). */
export async function settle(ms = 50): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}
