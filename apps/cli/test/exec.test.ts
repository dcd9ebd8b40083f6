import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecError, execEnvironment, execRules, parsePrefix, SHIM_PATH } from '../src/exec.ts';

test('prefixes are checked and normalised; a bare address is a /32', () => {
  assert.equal(parsePrefix('10.2.0.0/24'), '10.2.0.0/24');
  assert.equal(parsePrefix('010.2.0.1'), '10.2.0.1/32');
  for (const bad of ['10.2.0/24', '10.2.0.0/33', '256.1.1.1/8', '10.2.0.0/', '']) {
    assert.throws(() => parsePrefix(bad), ExecError, bad);
  }
});

test('IPv6 prefixes are checked and normalised too; a bare address is a /128', () => {
  assert.equal(parsePrefix('2001:DB8:0::/32'), '2001:db8::/32');
  assert.equal(parsePrefix('fe80::/10'), 'fe80::/10');
  assert.equal(parsePrefix('2001:db8::1'), '2001:db8::1/128');
  assert.equal(parsePrefix('::ffff:10.0.0.0/104'), '::ffff:10.0.0.0/104');
  for (const bad of ['2001:db8::/129', '2001:db8::1/32', 'fe80::1%eth0', '2001:db8:::/48', '2001:db8::/']) {
    assert.throws(
      () => parsePrefix(bad),
      (e: Error) => e instanceof ExecError && /IPv6 prefix/.test(e.message),
      bad,
    );
  }
  assert.equal(
    execRules(['2001:db8::/32', '10.3.0.0/16'], ['fd00::/8']),
    'kernel:2001:db8::/32,kernel:10.3.0.0/16,vr:fd00::/8',
  );
});

test('rules are written the way the shim reads them: kernel:P,vr:P', () => {
  assert.equal(
    execRules(['10.2.0.0/24', '192.168.1.1'], ['0.0.0.0/0']),
    'kernel:10.2.0.0/24,kernel:192.168.1.1/32,vr:0.0.0.0/0',
  );
  assert.equal(execRules([], []), '');
});

test('the environment puts the shim first in LD_PRELOAD and keeps the rest', () => {
  const options = {
    vr: 'edge',
    runDir: '/tmp/r',
    kernel: ['10.2.0.0/24'],
    vrPrefixes: [],
    command: ['true'],
  };
  const env = execEnvironment(options, { PATH: '/bin', LD_PRELOAD: '/x.so' });
  assert.equal(env['LD_PRELOAD'], `${SHIM_PATH} /x.so`);
  assert.equal(env['NEXTHOP_VR'], 'edge');
  assert.equal(env['NEXTHOP_RUN_DIR'], '/tmp/r');
  assert.equal(env['NEXTHOP_EXEC_RULES'], 'kernel:10.2.0.0/24');
  assert.equal(env['PATH'], '/bin');
  assert.equal(
    execEnvironment(options, { NEXTHOP_PRELOAD: '/asan.so /shim.so' })['LD_PRELOAD'],
    '/asan.so /shim.so',
  );
});
