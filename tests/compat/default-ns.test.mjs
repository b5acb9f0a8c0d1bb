// Namespace `/`: the `join` / `user:join` handshake that every seed client sends
// right after `connect`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TRANSPORTS, ack, emitOnConnectLosses, closeAll, collect, connectAs, newUser, registerUser, startServer, connect, tname, waitEvent } from './helpers.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  closeAll();
  await server?.stop();
});

const JOINED_MESSAGE = 'Successfully connected to real-time updates';

for (const transports of TRANSPORTS) {
  describe(`namespace / [${tname(transports)}]`, () => {
    for (const event of ['join', 'user:join']) {
      test(`${event} (no payload, no ack) -> joined {message, user}`, async () => {
        const u = newUser();
        const s = await connectAs(server, u, '/', transports);
        const joined = waitEvent(s, 'joined');
        s.emit(event);
        assert.deepEqual(await joined, {
          message: JOINED_MESSAGE,
          user: { id: u.id, username: u.username, email: u.email },
        });
        s.disconnect();
      });

      test(`${event} with an ack -> ack and joined event carry {message, user}`, async () => {
        const u = newUser();
        const s = await connectAs(server, u, '/', transports);
        const seen = collect(s, 'joined');
        const res = await ack(s, event);
        const expected = { message: JOINED_MESSAGE, user: { id: u.id, username: u.username, email: u.email } };
        assert.deepEqual(res, expected);
        // The `joined` event is emitted as well (it is queued before the ack).
        const again = await ack(s, event, {});
        assert.deepEqual(again, expected, 'a payload object is accepted too');
        assert.ok(seen.length >= 1, `joined event also emitted (saw ${seen.length})`);
        assert.deepEqual(seen[0], expected);
        s.disconnect();
      });
    }

    test('seed client flow: connect with a registered user, emit join on connect, get joined', async () => {
      const reg = await registerUser(server, 'seed');
      const s = await connect(server, '/', { transports, auth: { token: reg.accessToken } });
      const joined = waitEvent(s, 'joined');
      s.emit('join');
      const data = await joined;
      assert.equal(data.message, JOINED_MESSAGE);
      assert.deepEqual(data.user, reg.user);
      s.disconnect();
    });

    test('join emitted from the connect listener is never lost (100 fresh connections)', async () => {
      const lost = await emitOnConnectLosses(server, newUser('race'), '/', 'join', undefined, transports, 100);
      assert.equal(lost, 0, `${lost} of 100 'join' events sent on 'connect' got no answer`);
    });

    test('joined goes only to the socket that asked', async () => {
      const u = newUser();
      const a = await connectAs(server, u, '/', transports);
      const b = await connectAs(server, u, '/', transports); // same user, second tab
      const onB = collect(b, 'joined');
      await ack(a, 'join');
      // Sync point on b: its own join round trip comes after anything queued by a's join.
      await ack(b, 'join');
      assert.equal(onB.length, 1, `b saw only its own joined, got ${onB.length}`);
      a.disconnect();
      b.disconnect();
    });
  });
}
