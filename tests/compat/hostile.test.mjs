// Sessions and limits through the official socket.io-client (websocket and
// polling): an event flood is refused with `rate_limited` while a calm
// client's ping round trip stays low, token expiry ends the session (the
// client sees `auth:expired` and an `io server disconnect`), `auth:refresh`
// keeps it, the socket cap refuses with `too_many_connections`, and a login
// brute force gets 429 with Retry-After. Figures are printed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  TRANSPORTS,
  ack,
  closeAll,
  connectAs,
  expectConnectError,
  http,
  makeSocket,
  mintToken,
  newUser,
  registerUser,
  startServer,
  tname,
  waitEvent,
} from './helpers.mjs';

let server; // events 50/s with a burst of 20, 3 sockets per user
let auth; // a login limit of ten at once

before(async () => {
  [server, auth] = await Promise.all([
    startServer({ env: { RATE_LIMIT_EVENTS: '50/s:20', MAX_SOCKETS_PER_USER: '3' } }),
    // 10 an hour: the default's burst of ten, with no refill while the test
    // runs (a debug build's argon2 is slow enough for a 10/min bucket to refill).
    startServer({ env: { AUTH_RATE_LIMIT: '10/h' } }),
  ]);
});

after(async () => {
  closeAll();
  await Promise.all([server?.stop(), auth?.stop()]);
});

/** Connect as `user` with a token of `ttlSec`, listening for `auth:expiring` from the start. */
function connectExpiring(user, ns, transports, ttlSec) {
  const socket = makeSocket(server, ns, { transports, auth: { token: mintToken(user, server.secret, { ttlSec }) } });
  const warned = waitEvent(socket, 'auth:expiring');
  const connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  socket.connect();
  return { socket, warned, connected };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

for (const transports of TRANSPORTS) {
  describe(`limits over ${tname(transports)}`, () => {
    test('an event flood is refused with retryAfterMs; a calm client keeps its round trip', async () => {
      const flooder = await connectAs(server, newUser('flood'), '/webrtc', transports);
      const calm = await connectAs(server, newUser('calm'), '/webrtc', transports);
      const acks = [];
      for (let i = 0; i < 300; i++) acks.push(ack(flooder, 'ping', i));
      const rtts = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        const pong = await ack(calm, 'ping', 'calm');
        rtts.push(performance.now() - t);
        assert.equal(pong.message, 'pong');
      }
      const answers = await Promise.all(acks);
      const refused = answers.filter((a) => a.success === false);
      for (const r of refused) {
        assert.equal(r.error, 'rate_limited');
        assert.ok(Number.isInteger(r.retryAfterMs) && r.retryAfterMs > 0, JSON.stringify(r));
      }
      rtts.sort((a, b) => a - b);
      console.log(
        `flood over ${tname(transports)}: ${300 - refused.length} of 300 passed, ${refused.length} refused; ` +
          `calm ping RTT p50 ${pct(rtts, 0.5).toFixed(1)} ms, max ${rtts.at(-1).toFixed(1)} ms`,
      );
      assert.ok(refused.length >= 250, `${refused.length} refused`);
      assert.ok(flooder.connected, 'a refusal keeps the connection');
      flooder.disconnect();
      calm.disconnect();
    });

    test('an expiring token: auth:expiring, auth:expired, then the server disconnects', async () => {
      const { socket, warned: warning, connected } = connectExpiring(newUser('exp'), '/webrtc', transports, 2);
      await connected;
      const warned = await warning;
      assert.ok(Number.isInteger(warned.exp));
      const gone = new Promise((resolve) => socket.on('disconnect', resolve));
      const expired = await waitEvent(socket, 'auth:expired', 5000);
      assert.match(expired.message, /expired/);
      assert.equal(await gone, 'io server disconnect');
    });

    test('auth:refresh with a new token keeps the session; another user\'s token is refused', async () => {
      const user = newUser('ref');
      const { socket, warned, connected } = connectExpiring(user, '/', transports, 2);
      await connected;
      await warned;
      const other = await ack(socket, 'auth:refresh', { token: mintToken(newUser('x'), server.secret) });
      assert.equal(other.success, false);
      assert.match(other.error, /^unauthorized:/);
      const ok = await ack(socket, 'auth:refresh', { token: mintToken(user, server.secret, { ttlSec: 3600 }) });
      assert.equal(ok.success, true);
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(socket.connected, 'still connected past the old expiry');
      socket.disconnect();
    });
  });
}

describe('caps and logins', () => {
  test('a fourth socket of one user is refused with too_many_connections', async () => {
    const user = newUser('cap');
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await connectAs(server, user, '/webrtc'));
    const err = await expectConnectError(server, '/webrtc', { auth: { token: mintToken(user, server.secret) } });
    assert.match(err.message, /^too_many_connections/);
    for (const s of open) s.disconnect();
  });

  test('a login brute force gets 429 with Retry-After', async () => {
    const victim = await registerUser(auth, 'victim');
    const statuses = [];
    let retryAfter = null;
    for (let i = 0; i < 15; i++) {
      const res = await http(auth, 'POST', '/auth/login', { body: { email: victim.user.email, password: `guess-${i}` } });
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        assert.equal(res.json.error, 'rate_limited');
      }
    }
    console.log(`login brute force: ${statuses.filter((s) => s === 429).length} of 15 refused with 429`);
    // The registration used one of the ten for this e-mail and address.
    assert.deepEqual(statuses.slice(0, 9), Array(9).fill(401));
    assert.ok(statuses.slice(9).every((s) => s === 429), statuses.join(','));
    assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
  });
});
