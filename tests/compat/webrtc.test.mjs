// Namespace `/webrtc`: ping, rooms, peer events, offer/answer/ICE relay, validation,
// ordering, cleanup, room caps. Each group runs over websocket and over polling.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  TRANSPORTS,
  ack,
  closeAll,
  collect,
  connectAs,
  emitOnConnectLosses,
  http,
  mintToken,
  newUser,
  startServer,
  tname,
  waitCount,
  waitEvent,
  webrtcSync,
} from './helpers.mjs';

const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';
const TURN_SECRET = 'compat-turn-secret';

let server; // default cap (16)
let small; // ROOM_MAX_PEERS=2

before(async () => {
  [server, small] = await Promise.all([
    startServer(),
    // The small server also has TURN configured (REST credentials), without running a relay.
    startServer({ env: { ROOM_MAX_PEERS: '2', TURN_URLS: TURN_URL, TURN_SECRET: TURN_SECRET } }),
  ]);
});

after(async () => {
  closeAll();
  await Promise.all([server?.stop(), small?.stop()]);
});

let roomSeq = 0;
const newRoom = (p = 'room') => `${p}-${process.pid}-${++roomSeq}`;

async function peer(transports, srv = server, name = 'peer') {
  const user = newUser(name);
  const socket = await connectAs(srv, user, '/webrtc', transports);
  return { user, socket };
}

async function join(p, roomId) {
  const res = await ack(p.socket, 'room:join', { roomId });
  assert.equal(res?.success, true, `room:join ${roomId}: ${JSON.stringify(res)}`);
  return res;
}

const sampleOffer = () => ({ type: 'offer', sdp: 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n' });
const sampleAnswer = () => ({ type: 'answer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' });
const candidate = (i = 0) => ({
  candidate: `candidate:${i} 1 udp 2122260223 127.0.0.1 ${50000 + i} typ host generation 0`,
  sdpMid: '0',
  sdpMLineIndex: 0,
  usernameFragment: 'abcd',
});

function assertIceServers(list) {
  assert.ok(Array.isArray(list), `iceServers is an array: ${JSON.stringify(list)}`);
  for (const s of list) {
    assert.ok(typeof s.urls === 'string' || Array.isArray(s.urls), `RTCIceServer has urls: ${JSON.stringify(s)}`);
  }
}

for (const transports of TRANSPORTS) {
  const T = tname(transports);

  describe(`/webrtc ping [${T}]`, () => {
    test('ping -> pong event {message:"pong", echo, serverTime} (seed payload)', async () => {
      const { socket } = await peer(transports);
      const payload = { message: 'ping от клиента' };
      const pong = waitEvent(socket, 'pong');
      const before = Date.now();
      socket.emit('ping', payload);
      const res = await pong;
      assert.equal(res.message, 'pong');
      assert.deepEqual(res.echo, payload);
      assert.equal(typeof res.serverTime, 'number');
      assert.ok(Math.abs(res.serverTime - before) < 60_000, `serverTime is ms since epoch: ${res.serverTime}`);
      socket.disconnect();
    });

    test('ping with an ack -> ack {message:"pong", echo, serverTime}', async () => {
      const { socket } = await peer(transports);
      for (const payload of [{ n: 1, nested: [1, 'two', null] }, 'text', 42]) {
        const res = await ack(socket, 'ping', payload);
        assert.equal(res.message, 'pong');
        assert.deepEqual(res.echo, payload);
        assert.equal(typeof res.serverTime, 'number');
      }
      socket.disconnect();
    });

    test('ping without a payload still gets a pong', async () => {
      const { socket } = await peer(transports);
      const pong = waitEvent(socket, 'pong');
      socket.emit('ping');
      const res = await pong;
      assert.equal(res.message, 'pong');
      assert.ok(res.echo === null || res.echo === undefined, `echo of nothing: ${JSON.stringify(res.echo)}`);
      socket.disconnect();
    });

    test('events emitted from the connect listener are never lost (100 fresh connections)', async () => {
      const lost = await emitOnConnectLosses(server, newUser('race'), '/webrtc', 'ping', { early: true }, transports, 100);
      assert.equal(lost, 0, `${lost} of 100 'ping' events sent on 'connect' got no answer`);
    });

    test('ice-servers -> ack {iceServers, ttl}', async () => {
      const { socket } = await peer(transports);
      const res = await ack(socket, 'ice-servers');
      assertIceServers(res.iceServers);
      assert.equal(typeof res.ttl, 'number');
      socket.disconnect();
    });
  });

  describe(`/webrtc rooms [${T}]`, () => {
    test('room:join ack {success, roomId, peerId, peers, iceServers}; others get peer:joined', async () => {
      const room = newRoom();
      const a = await peer(transports, server, 'a');
      const b = await peer(transports, server, 'b');
      const ra = await join(a, room);
      assert.equal(ra.roomId, room);
      assert.equal(ra.peerId, a.socket.id, 'peerId is the caller socket id');
      assert.deepEqual(ra.peers, []);
      assertIceServers(ra.iceServers);

      const joinedOnA = waitEvent(a.socket, 'peer:joined');
      const rb = await join(b, room);
      assert.equal(rb.peerId, b.socket.id);
      assert.deepEqual(rb.peers, [{ peerId: a.socket.id, userId: a.user.id, username: a.user.username }]);
      assert.deepEqual(await joinedOnA, { roomId: room, peerId: b.socket.id, userId: b.user.id, username: b.user.username });
      a.socket.disconnect();
      b.socket.disconnect();
    });

    test('the joiner does not get peer:joined about itself', async () => {
      const room = newRoom();
      const a = await peer(transports);
      const seen = collect(a.socket, 'peer:joined');
      await join(a, room);
      await webrtcSync(a.socket);
      assert.deepEqual(seen, []);
      a.socket.disconnect();
    });

    test('room:leave -> ack {success:true}; others get peer:left reason "left"', async () => {
      const room = newRoom();
      const a = await peer(transports);
      const b = await peer(transports);
      await join(a, room);
      await join(b, room);
      const left = waitEvent(a.socket, 'peer:left');
      const res = await ack(b.socket, 'room:leave', { roomId: room });
      assert.deepEqual(res, { success: true });
      assert.deepEqual(await left, { roomId: room, peerId: b.socket.id, userId: b.user.id, reason: 'left' });
      // b is no longer a peer: a new joiner sees only a.
      const c = await peer(transports);
      const rc = await join(c, room);
      assert.deepEqual(rc.peers.map((p) => p.peerId), [a.socket.id]);
      for (const p of [a, b, c]) p.socket.disconnect();
    });

    test('disconnect -> others get peer:left reason "disconnected"', async () => {
      const room = newRoom();
      const a = await peer(transports);
      const b = await peer(transports);
      await join(a, room);
      await join(b, room);
      const bId = b.socket.id;
      const left = waitEvent(a.socket, 'peer:left');
      b.socket.disconnect();
      assert.deepEqual(await left, { roomId: room, peerId: bId, userId: b.user.id, reason: 'disconnected' });
      a.socket.disconnect();
    });

    test('invalid_room for ids outside 1-128 of [A-Za-z0-9_.:-]; boundary ids are accepted', async () => {
      const a = await peer(transports);
      for (const roomId of ['', 'x'.repeat(129), 'has space', 'slash/room', 'кириллица', 'semi;colon', 'emoji😀']) {
        const res = await ack(a.socket, 'room:join', { roomId });
        assert.deepEqual(
          { success: res?.success, error: res?.error },
          { success: false, error: 'invalid_room' },
          `roomId ${JSON.stringify(roomId)} -> ${JSON.stringify(res)}`,
        );
      }
      for (const roomId of ['x'.repeat(128), 'A-z_0.9:b', 'a']) {
        const res = await ack(a.socket, 'room:join', { roomId: `${roomId}` });
        assert.equal(res?.success, true, `roomId ${roomId.slice(0, 20)}... -> ${JSON.stringify(res)}`);
        await ack(a.socket, 'room:leave', { roomId });
      }
      a.socket.disconnect();
    });

    test('room:join with a malformed payload is refused and the connection stays up', async () => {
      const a = await peer(transports);
      for (const payload of [{}, { roomId: 42 }, 'room', null]) {
        const res = await ack(a.socket, 'room:join', payload);
        assert.equal(res?.success, false, `payload ${JSON.stringify(payload)} -> ${JSON.stringify(res)}`);
        assert.ok(['invalid_payload', 'invalid_room'].includes(res.error), `error code for ${JSON.stringify(payload)}: ${res.error}`);
      }
      assert.equal((await ack(a.socket, 'ping', 1)).message, 'pong');
      a.socket.disconnect();
    });

    test('cleanup: a re-joining peer sees no ghost peers; an emptied room starts empty', async () => {
      const room = newRoom('cleanup');
      const a = await peer(transports);
      const b = await peer(transports);
      await join(a, room);
      await join(b, room);
      const left = waitEvent(a.socket, 'peer:left');
      b.socket.disconnect();
      await left;
      // b comes back with a fresh connection (same user): only a is there.
      const b2 = await connectAs(server, b.user, '/webrtc', transports);
      const r2 = await join({ socket: b2 }, room);
      assert.deepEqual(r2.peers, [{ peerId: a.socket.id, userId: a.user.id, username: a.user.username }]);
      // Everyone leaves (one by leave, one by disconnect): the room is gone.
      await ack(a.socket, 'room:leave', { roomId: room });
      b2.disconnect();
      a.socket.disconnect();
      // Disconnect cleanup is asynchronous on the server; a fresh joiner must see an empty room
      // once the server has processed it. Poll briefly, failing if it never empties.
      let peers;
      const deadline = Date.now() + 3000;
      while (true) {
        const c = await peer(transports);
        const rc = await join(c, room);
        peers = rc.peers;
        c.socket.disconnect();
        if (peers.length === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(peers, [], 'fresh join of the emptied room sees no peers');
    });
  });

  describe(`/webrtc relay [${T}]`, () => {
    let a;
    let b;
    let room;
    before(async () => {
      room = newRoom('relay');
      a = await peer(transports, server, 'caller');
      b = await peer(transports, server, 'callee');
      await join(a, room);
      await join(b, room);
    });
    after(() => {
      a?.socket.disconnect();
      b?.socket.disconnect();
    });

    test('offer is relayed with from and fromUser; ack {success:true}', async () => {
      const got = waitEvent(b.socket, 'offer');
      const sdp = sampleOffer();
      const res = await ack(a.socket, 'offer', { to: b.socket.id, sdp });
      assert.deepEqual(res, { success: true });
      const msg = await got;
      assert.equal(msg.from, a.socket.id);
      assert.deepEqual(msg.fromUser, { id: a.user.id, username: a.user.username });
      assert.deepEqual(msg.sdp, sdp);
    });

    test('answer is relayed back with from and fromUser', async () => {
      const got = waitEvent(a.socket, 'answer');
      const sdp = sampleAnswer();
      const res = await ack(b.socket, 'answer', { to: a.socket.id, sdp });
      assert.deepEqual(res, { success: true });
      const msg = await got;
      assert.equal(msg.from, b.socket.id);
      assert.deepEqual(msg.fromUser, { id: b.user.id, username: b.user.username });
      assert.deepEqual(msg.sdp, sdp);
    });

    test('ice-candidate is relayed with from (and null end-of-candidates)', async () => {
      const got = collect(b.socket, 'ice-candidate');
      const c = candidate(7);
      assert.deepEqual(await ack(a.socket, 'ice-candidate', { to: b.socket.id, candidate: c }), { success: true });
      assert.deepEqual(await ack(a.socket, 'ice-candidate', { to: b.socket.id, candidate: null }), { success: true });
      await waitCount(got, 2, undefined, 'ice-candidate events');
      assert.equal(got[0].from, a.socket.id);
      assert.deepEqual(got[0].candidate, c);
      assert.equal(got[1].from, a.socket.id);
      assert.equal(got[1].candidate, null);
      b.socket.off('ice-candidate');
    });

    test('relay without an ack callback still delivers (fire-and-forget clients)', async () => {
      const got = waitEvent(b.socket, 'offer');
      a.socket.emit('offer', { to: b.socket.id, sdp: sampleOffer() });
      const msg = await got;
      assert.equal(msg.from, a.socket.id);
    });

    test('the sender does not receive its own relay', async () => {
      const echoed = collect(a.socket, 'offer');
      await ack(a.socket, 'offer', { to: b.socket.id, sdp: sampleOffer() });
      await webrtcSync(a.socket);
      assert.equal(echoed.length, 0);
      a.socket.off('offer');
    });

    test('a large but legal sdp (60 KiB) is relayed intact', async () => {
      const sdp = { type: 'offer', sdp: `v=0\r\n${'a=x-pad:'.padEnd(60 * 1024, 'p')}\r\n` };
      const got = waitEvent(b.socket, 'offer');
      assert.deepEqual(await ack(a.socket, 'offer', { to: b.socket.id, sdp }), { success: true });
      assert.equal((await got).sdp.sdp, sdp.sdp);
    });

    test('invalid_payload for malformed relays; nothing is delivered; the connection stays up', async () => {
      const to = b.socket.id;
      const bad = {
        offer: [
          ['missing to', { sdp: sampleOffer() }],
          ['to is a number', { to: 123, sdp: sampleOffer() }],
          ['missing sdp', { to }],
          ['sdp is a string', { to, sdp: 'v=0' }],
          ['sdp.sdp is a number', { to, sdp: { type: 'offer', sdp: 5 } }],
          ['sdp > 64 KiB', { to, sdp: { type: 'offer', sdp: 'a'.repeat(64 * 1024 + 1024) } }],
          ['payload is a string', 'offer'],
          ['payload is null', null],
        ],
        answer: [
          ['missing to', { sdp: sampleAnswer() }],
          ['sdp is an array', { to, sdp: [1, 2] }],
          ['sdp > 64 KiB', { to, sdp: { type: 'answer', sdp: 'b'.repeat(70 * 1024) } }],
        ],
        'ice-candidate': [
          ['missing to', { candidate: candidate() }],
          ['to is an object', { to: { id: to }, candidate: candidate() }],
          ['candidate is a number', { to, candidate: 5 }],
          ['candidate.candidate is a number', { to, candidate: { candidate: 5, sdpMid: '0', sdpMLineIndex: 0 } }],
          ['candidate > 2 KiB', { to, candidate: { ...candidate(), candidate: `candidate:1 ${'x'.repeat(3 * 1024)}` } }],
        ],
      };
      const delivered = { offer: collect(b.socket, 'offer'), answer: collect(b.socket, 'answer'), 'ice-candidate': collect(b.socket, 'ice-candidate') };
      for (const [event, cases] of Object.entries(bad)) {
        for (const [name, payload] of cases) {
          const res = await ack(a.socket, event, payload);
          assert.deepEqual(
            { success: res?.success, error: res?.error },
            { success: false, error: 'invalid_payload' },
            `${event} ${name} -> ${JSON.stringify(res)?.slice(0, 200)}`,
          );
        }
      }
      // Still connected and working.
      assert.ok(a.socket.connected, 'sender still connected');
      assert.equal((await ack(a.socket, 'ping', 'after')).echo, 'after');
      const okGot = waitEvent(b.socket, 'ice-candidate');
      assert.deepEqual(await ack(a.socket, 'ice-candidate', { to, candidate: candidate(1) }), { success: true });
      await okGot;
      await webrtcSync(b.socket);
      assert.equal(delivered.offer.length, 0, 'no offer delivered');
      assert.equal(delivered.answer.length, 0, 'no answer delivered');
      assert.equal(delivered['ice-candidate'].length, 1, 'only the valid candidate delivered');
      b.socket.off('offer');
      b.socket.off('answer');
      b.socket.off('ice-candidate');
    });

    test('200 ice-candidates sent back to back arrive in order', async () => {
      const N = 200;
      const got = collect(b.socket, 'ice-candidate');
      const acks = [];
      for (let i = 0; i < N; i++) {
        acks.push(ack(a.socket, 'ice-candidate', { to: b.socket.id, candidate: candidate(i) }));
      }
      const results = await Promise.all(acks);
      assert.ok(results.every((r) => r?.success === true), `all acks success: ${JSON.stringify(results.find((r) => !r?.success))}`);
      await waitCount(got, N, 10_000, 'ice-candidate events');
      const order = got.map((m) => Number(/^candidate:(\d+) /.exec(m.candidate.candidate)[1]));
      assert.deepEqual(order, [...Array(N).keys()]);
      assert.ok(got.every((m) => m.from === a.socket.id));
      b.socket.off('ice-candidate');
    });
  });

  describe(`/webrtc peer_not_in_room [${T}]`, () => {
    test('relay to a peer in another room (or unknown id, or after leaving) -> peer_not_in_room, nothing delivered', async () => {
      const a = await peer(transports);
      const b = await peer(transports);
      const c = await peer(transports);
      const r1 = newRoom('p1');
      const r2 = newRoom('p2');
      await join(a, r1);
      await join(b, r1);
      await join(c, r2);
      const onC = { offer: collect(c.socket, 'offer'), answer: collect(c.socket, 'answer'), ice: collect(c.socket, 'ice-candidate') };
      const expectNotInRoom = async (event, payload, what) => {
        const res = await ack(a.socket, event, payload);
        assert.deepEqual({ success: res?.success, error: res?.error }, { success: false, error: 'peer_not_in_room' }, `${what}: ${JSON.stringify(res)}`);
      };
      await expectNotInRoom('offer', { to: c.socket.id, sdp: sampleOffer() }, 'offer to other room');
      await expectNotInRoom('answer', { to: c.socket.id, sdp: sampleAnswer() }, 'answer to other room');
      await expectNotInRoom('ice-candidate', { to: c.socket.id, candidate: candidate() }, 'candidate to other room');
      await expectNotInRoom('offer', { to: 'no-such-socket-id', sdp: sampleOffer() }, 'unknown peer');
      // Not in any room at all.
      const d = await peer(transports);
      const resD = await ack(d.socket, 'offer', { to: a.socket.id, sdp: sampleOffer() });
      assert.deepEqual({ success: resD?.success, error: resD?.error }, { success: false, error: 'peer_not_in_room' });
      // After b leaves, a can no longer reach b.
      const onB = collect(b.socket, 'offer');
      await ack(b.socket, 'room:leave', { roomId: r1 });
      await expectNotInRoom('offer', { to: b.socket.id, sdp: sampleOffer() }, 'offer after leave');
      await webrtcSync(c.socket);
      await webrtcSync(b.socket);
      assert.equal(onC.offer.length + onC.answer.length + onC.ice.length, 0, 'c received nothing');
      assert.equal(onB.length, 0, 'b received nothing after leaving');
      for (const p of [a, b, c, d]) p.socket.disconnect();
    });
  });

  describe(`/webrtc room caps [${T}]`, () => {
    test('ROOM_MAX_PEERS=2: the third joiner gets room_full; a slot frees after a leave', async () => {
      const room = newRoom('cap');
      const [a, b, c] = await Promise.all([peer(transports, small), peer(transports, small), peer(transports, small)]);
      await join(a, room);
      await join(b, room);
      const res = await ack(c.socket, 'room:join', { roomId: room });
      assert.deepEqual({ success: res?.success, error: res?.error }, { success: false, error: 'room_full' }, JSON.stringify(res));
      // c is not a member: a and b got no peer:joined for it, and c cannot relay into the room.
      const relay = await ack(c.socket, 'offer', { to: a.socket.id, sdp: sampleOffer() });
      assert.equal(relay?.error, 'peer_not_in_room');
      await ack(b.socket, 'room:leave', { roomId: room });
      const again = await join(c, room);
      assert.deepEqual(again.peers.map((p) => p.peerId), [a.socket.id]);
      for (const p of [a, b, c]) p.socket.disconnect();
    });

    test('concurrent joins to a room with cap N from many sockets: exactly N succeed', async () => {
      for (const [srv, cap, count] of [
        [small, 2, 10],
        [server, 16, 30],
      ]) {
        const room = newRoom('race');
        const peers = await Promise.all(Array.from({ length: count }, () => peer(transports, srv, 'racer')));
        const results = await Promise.all(peers.map((p) => ack(p.socket, 'room:join', { roomId: room })));
        const ok = results.filter((r) => r?.success === true);
        const full = results.filter((r) => r?.success === false && r?.error === 'room_full');
        assert.equal(ok.length, cap, `cap ${cap}: ${ok.length} joins succeeded`);
        assert.equal(full.length, count - cap, `cap ${cap}: ${full.length} room_full`);
        // Members only ever see other members.
        const members = new Set(ok.map((r) => r.peerId));
        for (const r of ok) {
          assert.ok(r.peers.length < cap);
          for (const p of r.peers) assert.ok(members.has(p.peerId), `peer list names a non-member ${p.peerId}`);
        }
        // A later joiner is still refused.
        const late = await peer(transports, srv, 'late');
        const lr = await ack(late.socket, 'room:join', { roomId: room });
        assert.equal(lr?.error, 'room_full');
        for (const p of [...peers, late]) p.socket.disconnect();
      }
    });
  });
}

describe('/webrtc TURN credentials (TURN REST scheme)', () => {
  function assertTurn(list, userId, what) {
    const turn = list.filter((s) => [].concat(s.urls).some((u) => /^turns?:/.test(u)));
    assert.equal(turn.length, 1, `${what}: one TURN entry in ${JSON.stringify(list)}`);
    const [entry] = turn;
    assert.ok([].concat(entry.urls).includes(TURN_URL), `${what}: urls ${JSON.stringify(entry.urls)}`);
    const m = /^(\d+):(.+)$/.exec(entry.username);
    assert.ok(m, `${what}: username is <expiry-unix>:<userId>, got ${entry.username}`);
    assert.equal(m[2], userId, `${what}: username names the user`);
    const expiry = Number(m[1]);
    const now = Date.now() / 1000;
    assert.ok(expiry > now && expiry < now + 7 * 24 * 3600, `${what}: expiry ${expiry} is in the future`);
    const expected = createHmac('sha1', TURN_SECRET).update(entry.username).digest('base64');
    assert.equal(entry.credential, expected, `${what}: credential = base64(HMAC-SHA1(secret, username))`);
    assert.ok(list.some((s) => [].concat(s.urls).some((u) => /^stuns?:/.test(u))), `${what}: STUN entries remain`);
  }

  test('ice-servers ack, room:join ack and GET /ice-servers carry valid time-limited TURN credentials', async () => {
    const p = await peer(['websocket'], small, 'turn');
    const viaEvent = await ack(p.socket, 'ice-servers');
    assertTurn(viaEvent.iceServers, p.user.id, 'ice-servers ack');
    assert.ok(viaEvent.ttl > 0, `ttl ${viaEvent.ttl}`);
    const joined = await join(p, newRoom('turn'));
    assertTurn(joined.iceServers, p.user.id, 'room:join ack');
    const res = await http(small, 'GET', '/ice-servers', { token: mintToken(p.user, small.secret) });
    assert.equal(res.status, 200, res.text);
    assertTurn(res.json.iceServers, p.user.id, 'GET /ice-servers');
    assert.equal(typeof res.json.ttl, 'number');
    p.socket.disconnect();
  });
});
