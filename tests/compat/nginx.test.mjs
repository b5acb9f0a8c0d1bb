// nginx in front of two Switchboard nodes: the project's own
// deploy/nginx.conf (only its ports changed) run by Debian's nginx, with
// the official socket.io-client connecting through it over long-polling,
// over websocket, and upgrading from one to the other. The two nodes form a
// cluster: one database (a SQLite file here), one JWT secret and one
// Redis (Debian's redis-server, started here on a free loopback port), so
// clients that nginx sent to different nodes reach each other.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';

import { REPO_ROOT, WAIT_MS, ack, freePort, http, registerUser, sleep, startServer, waitEvent } from './helpers.mjs';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

let dir;
let nodes = [];
let proxy;
let nginx;
let nginxOut = '';
let redis;
let redisOut = '';

async function waitPort(port, what = () => `nginx did not listen on ${port}:\n${nginxOut}`) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(what());
}

/** deploy/nginx.conf with the test's ports, inside a minimal main config. */
function renderConfig(port, [a, b]) {
  const site = readFileSync(path.join(REPO_ROOT, 'deploy', 'nginx.conf'), 'utf8')
    .replace('server 127.0.0.1:3001', `server 127.0.0.1:${a}`)
    .replace('server 127.0.0.1:3002', `server 127.0.0.1:${b}`)
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  assert.ok(site.includes(`:${a}`) && site.includes(`:${b}`) && site.includes(`:${port}`), 'ports substituted');
  writeFileSync(path.join(dir, 'site.conf'), site);
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `${user}daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/site.conf;
}
`,
  );
}

/** Sockets each node holds on `/webrtc`, from its own /metrics. */
async function socketsPerNode() {
  const counts = [];
  for (const n of nodes) {
    const text = (await http(n, 'GET', '/metrics')).text;
    const m = text.match(/switchboard_sockets\{namespace="\/webrtc"\} (\d+)/);
    counts.push(m ? Number(m[1]) : 0);
  }
  return counts;
}

function open(token, opts) {
  const socket = io(`${proxy.url}/webrtc`, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT_MS,
    auth: { token },
    ...opts,
  });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no connect through nginx')), WAIT_MS);
    socket.on('connect', () => {
      clearTimeout(t);
      resolve(socket);
    });
    socket.on('connect_error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

async function pings(socket, n) {
  for (let i = 0; i < n; i++) {
    const pong = await socket.timeout(WAIT_MS).emitWithAck('ping', { i });
    assert.equal(pong.message, 'pong');
    assert.deepEqual(pong.echo, { i });
  }
}

describe('nginx in front of two nodes (deploy/nginx.conf)', () => {
  before(async () => {
    assert.ok(NGINX, "Debian's nginx is not installed (apt-get install -y nginx); this suite needs it");
    dir = mkdtempSync(path.join(os.tmpdir(), 'sb-nginx-'));
    const secret = randomBytes(32).toString('hex');
    const redisPort = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    redis.stdout.on('data', (d) => (redisOut += d));
    redis.stderr.on('data', (d) => (redisOut += d));
    await waitPort(redisPort, () => `redis-server did not listen on ${redisPort}:\n${redisOut}`);
    const env = {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DATABASE_URL: `sqlite://${dir}/switchboard.db`,
      // Heartbeats that run many times during a test: a session that nginx
      // cut or sent to the wrong node would die within seconds.
      PING_INTERVAL: '500ms',
      PING_TIMEOUT: '1s',
    };
    // One after the other: the first applies the migrations.
    nodes.push(await startServer({ env, secret }));
    nodes.push(await startServer({ env, secret }));
    const port = await freePort();
    renderConfig(port, nodes.map((n) => n.port));
    nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stdout.on('data', (d) => (nginxOut += d));
    nginx.stderr.on('data', (d) => (nginxOut += d));
    await waitPort(port);
    proxy = { url: `http://127.0.0.1:${port}` };
  });

  after(async () => {
    nginx?.kill('SIGTERM');
    for (const n of nodes) await n.stop();
    redis?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('REST goes through: register, then the token works on the other node too', async () => {
    const reg = await registerUser(proxy, 'nginx');
    for (const n of nodes) {
      const me = await http(n, 'GET', '/auth/me', { token: reg.accessToken });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.id ?? me.json.user?.id, reg.user.id);
    }
  });

  for (const [name, opts, finalTransport] of [
    ['long-polling only', { transports: ['polling'] }, 'polling'],
    ['websocket only', { transports: ['websocket'] }, 'websocket'],
    ['polling upgraded to websocket', { transports: ['polling', 'websocket'] }, 'websocket'],
  ]) {
    test(`${name}: connects, stays up across heartbeats, and events round-trip`, async () => {
      const reg = await registerUser(proxy, 'nginx');
      const socket = await open(reg.accessToken, opts);
      let dropped = null;
      socket.on('disconnect', (why) => (dropped = why));
      await pings(socket, 10);
      // Several heartbeats (and, on polling, many requests of one session).
      await sleep(3000);
      assert.equal(dropped, null, 'nginx kept the session on its node and open');
      await pings(socket, 10);
      assert.equal(socket.io.engine.transport.name, finalTransport);
      const join = await socket.timeout(WAIT_MS).emitWithAck('room:join', { roomId: `nginx-${name.length}` });
      assert.equal(join.success, true, JSON.stringify(join));
      socket.disconnect();
    });
  }

  test('clients from different addresses are spread over both nodes', async () => {
    const reg = await registerUser(proxy, 'spread');
    const sockets = [];
    let counts = [0, 0];
    for (let i = 2; i < 60 && !(counts[0] > 0 && counts[1] > 0); i++) {
      sockets.push(await open(reg.accessToken, { transports: ['websocket'], localAddress: `127.0.0.${i}` }));
      counts = await socketsPerNode();
    }
    assert.ok(counts[0] > 0 && counts[1] > 0, `both nodes hold sockets: ${counts}`);
    for (const s of sockets) await pings(s, 2);
    for (const s of sockets) s.disconnect();
  });

  test('peers that nginx sent to different nodes relay an offer to each other', async () => {
    const [ua, ub] = [await registerUser(proxy, 'xa'), await registerUser(proxy, 'xb')];
    // Which node a new socket landed on: the one whose gauge grew.
    const landed = async (connect) => {
      const before = await socketsPerNode();
      const socket = await connect();
      // The gauge is counted just after the handshake: give it a moment.
      for (let t = 0; t < 40; t++) {
        const after = await socketsPerNode();
        const node = after.findIndex((c, k) => c > before[k]);
        if (node >= 0) return [socket, node];
        await sleep(50);
      }
      return [socket, -1];
    };
    const [a, aNode] = await landed(() => open(ua.accessToken, { transports: ['polling'], localAddress: '127.0.0.2' }));
    assert.ok(aNode >= 0, 'the first client is counted on a node');
    let b;
    for (let i = 3; i < 60 && !b; i++) {
      const [s, node] = await landed(() =>
        open(ub.accessToken, { transports: ['websocket'], localAddress: `127.0.0.${i}` }),
      );
      if (node >= 0 && node !== aNode) b = s;
      else s.disconnect();
    }
    assert.ok(b, `a second client on the node other than ${aNode}`);
    const room = `cross-${randomBytes(4).toString('hex')}`;
    assert.equal((await ack(a, 'room:join', { roomId: room })).success, true);
    const joined = waitEvent(a, 'peer:joined');
    const jb = await ack(b, 'room:join', { roomId: room });
    assert.deepEqual(jb.peers.map((p) => p.peerId), [a.id], 'the roster crosses nodes');
    assert.equal((await joined).peerId, b.id);
    const got = waitEvent(a, 'offer');
    const sdp = { type: 'offer', sdp: 'v=0\r\ns=-\r\n' };
    assert.deepEqual(await ack(b, 'offer', { to: a.id, sdp }), { success: true });
    const offer = await got;
    assert.equal(offer.from, b.id);
    assert.deepEqual(offer.sdp, sdp);
    a.disconnect();
    b.disconnect();
  });
});
