import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ControlClient,
  type ControlError,
  ControlRequestError,
  ControlServer,
  checkRunDir,
  ensureRunDir,
  request,
} from '@nexthop/control';

const dir = mkdtempSync(join(tmpdir(), 'nexthop-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('requests get replies with their results and errors, several on one connection', async () => {
  const path = join(dir, 'a.ctl');
  const server = await ControlServer.listen(path, async (method, params) => {
    if (method === 'echo') return params;
    if (method === 'slow') {
      await new Promise((r) => setTimeout(r, 20));
      return 'slow';
    }
    throw new ControlRequestError('unknown_method', `no method ${method}`);
  });
  try {
    const client = await ControlClient.connect(path);
    const [a, b] = await Promise.all([client.call('slow'), client.call('echo', { x: 1 })]);
    assert.equal(a, 'slow');
    assert.deepEqual(b, { x: 1 });
    await assert.rejects(client.call('nope'), (err: ControlError) => err.code === 'unknown_method');
    client.close();
    assert.deepEqual(await request(path, 'echo', { y: 'z' }), { y: 'z' });
  } finally {
    await server.close();
  }
});

test('a missing VR gives an actionable error', async () => {
  await assert.rejects(request(join(dir, 'none.ctl'), 'x'), /no VR is listening/);
});

test('a stale socket file is replaced, a live one is refused', async () => {
  const path = join(dir, 'b.ctl');
  const first = await ControlServer.listen(path, () => 1);
  await assert.rejects(
    ControlServer.listen(path, () => 2),
    /in use/,
  );
  await first.close();
  const second = await ControlServer.listen(path, () => 2);
  assert.equal(await request(path, 'x'), 2);
  await second.close();
});

test('garbage lines get an error reply and do not kill the server', async () => {
  const path = join(dir, 'c.ctl');
  const server = await ControlServer.listen(path, () => 'ok');
  try {
    const { connect } = await import('node:net');
    const reply = await new Promise<string>((resolve) => {
      const s = connect(path);
      s.setEncoding('utf8');
      s.once('data', (d: string) => {
        resolve(d);
        s.destroy();
      });
      s.write('{not json\n');
    });
    assert.match(reply, /bad_json/);
    assert.equal(await request(path, 'x'), 'ok');
  } finally {
    await server.close();
  }
});

test('the socket file is 0600 from the start, whatever the umask, and only its own file is removed', async () => {
  const sub = join(dir, 'umask');
  ensureRunDir(sub);
  assert.equal(lstatSync(sub).mode & 0o7777, 0o755);
  const path = join(sub, 'b.ctl');
  const old = process.umask(0);
  let server: ControlServer;
  try {
    server = await ControlServer.listen(path, () => 'ok');
  } finally {
    process.umask(old);
  }
  assert.equal(lstatSync(path).mode & 0o7777, 0o600);
  // Nothing left of the private directory it was bound in.
  assert.deepEqual(readdirSync(sub), ['b.ctl']);
  assert.equal(await request(path, 'x'), 'ok');
  await server.close();
  assert.deepEqual(readdirSync(sub), []);
});

test('a run directory others can write, or a symbolic link, is refused; a sticky one is not', async () => {
  const open = join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  await assert.rejects(
    ControlServer.listen(join(open, 'c.ctl'), () => 'ok'),
    /group or others could replace/,
  );
  assert.throws(() => checkRunDir(open), /chmod go-w/);
  chmodSync(open, 0o1777);
  const server = await ControlServer.listen(join(open, 'c.ctl'), () => 'ok');
  await server.close();
  symlinkSync(open, join(dir, 'link'));
  assert.throws(() => ensureRunDir(join(dir, 'link')), /symbolic link/);
  writeFileSync(join(open, 'f.ctl'), 'x');
  await assert.rejects(
    ControlServer.listen(join(open, 'f.ctl'), () => 'ok'),
    /not a socket/,
  );
});
