// The addon's epoll set for the pairs' ends (unixPollSet): level-triggered readiness under the id
// each end was added with, batched; a hang-up-only watch; a closed end leaves the set by its close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  loadUnix,
  POLL_ADD,
  POLL_DEL,
  POLL_MOD,
  UNIX_SOCK_SEQPACKET,
  UNIX_SOCK_STREAM,
  WATCH_HANGUP_ONLY,
  WATCH_HUNG_UP,
  WATCH_READABLE,
  WATCH_WRITABLE,
} from '../src/index.ts';

const u = loadUnix();

/** A set whose batches are collected as [id, ready] lists; next() waits for the next batch. */
function collector() {
  const out = new Float64Array(8);
  const batches: [number, number][][] = [];
  let wake: (() => void) | null = null;
  const set = u.unixPollSet(out, (n) => {
    const b: [number, number][] = [];
    for (let i = 0; i < n; i++) b.push([out[2 * i]!, out[2 * i + 1]!]);
    batches.push(b);
    wake?.();
  });
  const next = async (): Promise<[number, number][]> => {
    while (batches.length === 0) await new Promise<void>((r) => (wake = r));
    wake = null;
    return batches.shift()!;
  };
  /** Lets the loop turn a few times; returns what arrived meanwhile. */
  const settle = async (): Promise<[number, number][][]> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return batches.splice(0);
  };
  return { set, next, settle };
}

function pair(type = UNIX_SOCK_STREAM): [number, number] {
  const p = new Int32Array(2);
  assert.equal(u.unixSocketPair(type, p), 0);
  return [p[0]!, p[1]!];
}

test('readable and writable under the id, level-triggered; MOD changes the interest; hang-up only', async () => {
  const { set, next, settle } = collector();
  const [mine, theirs] = pair();
  const id = 2 ** 40 + 7;
  assert.equal(u.unixPollCtl(set, POLL_ADD, mine, id, WATCH_READABLE), 0);
  assert.deepEqual(await settle(), [], 'nothing to read yet');
  const one = new Uint8Array([42]);
  assert.equal(u.unixWrite(theirs, one, 0, 1), 1);
  assert.deepEqual(await next(), [[id, WATCH_READABLE]]);
  // Level-triggered: unread, it fires again.
  assert.deepEqual(await next(), [[id, WATCH_READABLE]]);
  const buf = new Uint8Array(4);
  assert.equal(u.unixRead(mine, buf, 0, 4), 1);
  assert.deepEqual(await settle(), []);
  // The server's end is blocking (no O_NONBLOCK), yet reads never wait.
  assert.equal(u.unixRead(mine, buf, 0, 4), -11);
  assert.equal(u.unixPollCtl(set, POLL_MOD, mine, id, WATCH_READABLE | WATCH_WRITABLE), 0);
  assert.deepEqual(await next(), [[id, WATCH_WRITABLE]]);
  assert.equal(u.unixPollCtl(set, POLL_MOD, mine, id, WATCH_HANGUP_ONLY), 0);
  await settle();
  assert.equal(u.unixWrite(theirs, one, 0, 1), 1);
  assert.deepEqual(await settle(), [], 'hang-up only: data does not wake it');
  u.unixShutdown(theirs, 1);
  assert.deepEqual(await settle(), [], 'nor a half-close');
  u.unixClose(theirs);
  assert.deepEqual(await next(), [[id, WATCH_HUNG_UP]]);
  assert.equal(u.unixPollClose(set, mine), 0);
  assert.deepEqual(await settle(), [], 'closed: out of the set');
  u.unixPollSetClose(set);
  u.unixPollSetClose(set);
  assert.equal(u.unixPollCtl(set, POLL_ADD, mine, 1, WATCH_READABLE), -9, 'EBADF once closed');
});

test('a hang-up with reading interest: readable and hung up, in batches', async () => {
  const { set, next, settle } = collector();
  const ends: [number, number][] = [];
  for (let i = 0; i < 6; i++) {
    const p = pair(i % 2 === 0 ? UNIX_SOCK_STREAM : UNIX_SOCK_SEQPACKET);
    ends.push(p);
    assert.equal(u.unixPollCtl(set, POLL_ADD, p[0], 100 + i, WATCH_READABLE), 0);
  }
  assert.equal(u.unixPollCtl(set, POLL_ADD, ends[0]![0], 100, WATCH_READABLE), -17, 'EEXIST');
  for (const [, theirs] of ends) u.unixClose(theirs);
  // out holds 4 events: 6 take two batches (level-triggered, so the second may repeat some).
  const first = await next();
  assert.equal(first.length, 4);
  const seen = new Map(first);
  while (seen.size < ends.length) for (const [id, ready] of await next()) seen.set(id, ready);
  assert.deepEqual(
    [...seen].sort((a, b) => a[0] - b[0]),
    ends.map((_, i) => [100 + i, WATCH_READABLE | WATCH_HUNG_UP]),
  );
  for (const [mine] of ends) {
    assert.equal(u.unixPollCtl(set, POLL_DEL, mine, 0, 0), 0);
    u.unixClose(mine);
  }
  assert.deepEqual(await settle(), []);
  u.unixPollSetClose(set);
});
