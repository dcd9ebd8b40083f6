import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigStore, HISTORY_LIMIT, writeFileAtomic } from '../src/config-store.ts';

const textFor = (address: string) =>
  `routers:\n  red:\n    interfaces:\n      eth0: { driver: afpacket, device: dev1, addresses: [${address}] }\n`;

function setup(initial: string | null) {
  const dir = mkdtempSync(join(tmpdir(), 'nexthopd-store-'));
  const configPath = join(dir, 'nexthop.yaml');
  if (initial !== null) writeFileSync(configPath, initial);
  const stateDir = join(dir, 'state');
  const store = () => new ConfigStore({ configPath, stateDir, deviceExists: (d) => d !== 'missing0' });
  return {
    dir,
    configPath,
    stateDir,
    store,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('a valid file becomes version 1; the same file at the next start stays version 1', () => {
  using s = setup(textFor('10.1.0.1/24'));
  const loaded = s.store().load();
  assert.equal(loaded.ok, true);
  assert.equal(loaded.ok && loaded.current.version, 1);
  const again = s.store().load();
  assert.equal(again.ok && again.current.version, 1);
  assert.equal(again.ok && again.fromHistory, false);
});

test('commit writes the file through and adds a version; rollback returns to the previous one', () => {
  using s = setup(textFor('10.1.0.1/24'));
  const store = s.store();
  assert.equal(store.load().ok, true);
  assert.equal(store.previous(), undefined);
  const second = textFor('10.1.0.2/24');
  const parsed = store.parse(second);
  assert.ok(parsed.ok);
  assert.equal(store.commit(second, parsed.config).version, 2);
  assert.equal(readFileSync(s.configPath, 'utf8'), second);
  assert.equal(store.olderVersions, 1);
  assert.deepEqual(store.previous(), { version: 1, text: textFor('10.1.0.1/24') });
  const first = store.parse(textFor('10.1.0.1/24'));
  assert.ok(first.ok);
  const back = store.commitRollback(first.config);
  assert.equal(back.version, 1);
  assert.equal(store.current.text, textFor('10.1.0.1/24'));
  assert.equal(readFileSync(s.configPath, 'utf8'), textFor('10.1.0.1/24'));
  assert.equal(store.previous(), undefined);
  // Numbers are not reused after a rollback.
  assert.equal(store.commit(second, parsed.config).version, 3);
});

test('the history keeps the newest versions only', () => {
  using s = setup(textFor('10.1.0.1/24'));
  const store = s.store();
  store.load();
  for (let i = 2; i <= HISTORY_LIMIT + 5; i++) {
    const text = textFor(`10.1.0.${i}/24`);
    const parsed = store.parse(text);
    assert.ok(parsed.ok);
    store.commit(text, parsed.config);
  }
  const files = readdirSync(join(s.stateDir, 'history'));
  assert.equal(files.length, HISTORY_LIMIT);
  assert.equal(store.olderVersions, HISTORY_LIMIT - 1);
  assert.equal(store.current.version, HISTORY_LIMIT + 5);
});

test('an invalid file at start runs the last applied version, and is not recorded', () => {
  using s = setup(textFor('10.1.0.1/24'));
  assert.equal(s.store().load().ok, true);
  const broken =
    'routers:\n  red:\n    interfaces:\n      eth0: { driver: afpacket, device: dev1, bogus: 1 }\n';
  writeFileSync(s.configPath, broken);
  const loaded = s.store().load();
  assert.ok(loaded.ok && loaded.fromHistory);
  assert.equal(loaded.current.version, 1);
  assert.match(JSON.stringify(loaded.errors), /bogus/);
  assert.equal(readdirSync(join(s.stateDir, 'history')).length, 1);
  // The file is left for the operator to fix.
  assert.equal(readFileSync(s.configPath, 'utf8'), broken);
});

test('a device missing at start is no reason to stop: the file runs, the problem is reported', () => {
  using s = setup(textFor('10.1.0.1/24'));
  assert.equal(s.store().load().ok, true);
  const later = 'routers:\n  red:\n    interfaces:\n      eth0: { driver: afpacket, device: missing0 }\n';
  writeFileSync(s.configPath, later);
  const loaded = s.store().load();
  assert.ok(loaded.ok && !loaded.fromHistory);
  assert.equal(loaded.current.text, later);
  assert.deepEqual(
    loaded.missing.map((e) => e.path),
    ['routers.red.interfaces.eth0.device'],
  );
  // Applying such a text, on the other hand, is refused: the operator is there to fix it.
  assert.equal(s.store().parse(later).ok, false);
});

test('an invalid file and no history: errors', () => {
  using s = setup(
    'routers:\n  red: { interfaces: { eth0: { driver: afpacket, device: dev2, bogus: 1 } } }\n',
  );
  const loaded = s.store().load();
  assert.equal(loaded.ok, false);
  assert.ok(!loaded.ok && loaded.errors.some((e) => e.path.includes('eth0')));
});

test('a missing file and no history: errors', () => {
  using s = setup(null);
  const loaded = s.store().load();
  assert.ok(!loaded.ok && /cannot read/.test(loaded.errors[0]!.message));
});

test('writing through a symbolic link keeps the link, the mode and the text whole', () => {
  using s = setup(textFor('10.1.0.1/24'));
  const real = join(s.dir, 'real.yaml');
  writeFileSync(real, textFor('10.1.0.1/24'), { mode: 0o640 });
  const link = join(s.dir, 'link.yaml');
  symlinkSync(real, link);
  writeFileAtomic(link, textFor('10.1.0.9/24'));
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
  assert.equal(readFileSync(real, 'utf8'), textFor('10.1.0.9/24'));
  assert.equal(statSync(real).mode & 0o777, 0o640);
  assert.deepEqual(
    readdirSync(s.dir).filter((f) => f.includes('.tmp-')),
    [],
  );
});
