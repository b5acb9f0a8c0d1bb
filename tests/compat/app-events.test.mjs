// Namespace `/` app events (issue 3): todos, chats, messages, typing, presence,
// malformed payloads; plus `/webrtc` chat-room access. Kept separate so its status
// can be seen on its own (`npm run test:app`).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  TRANSPORTS,
  WAIT_MS,
  ack,
  closeAll,
  collect,
  connect,
  http,
  registerUser,
  startServer,
  tname,
  waitCount,
  waitEvent,
} from './helpers.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  closeAll();
  await server?.stop();
});

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Sync point on a `/` socket: a `join` ack round trip. */
async function sync(socket) {
  const res = await ack(socket, 'join');
  assert.ok(res?.user, `sync join ack: ${JSON.stringify(res)}`);
}

async function sock(account, transports, ns = '/') {
  return connect(server, ns, { transports, auth: { token: account.accessToken } });
}

async function createChat(owner, others, name) {
  const res = await http(server, 'POST', '/chats', {
    token: owner.accessToken,
    body: name ? { participantIds: others.map((o) => o.user.id), name } : { participantIds: others.map((o) => o.user.id) },
  });
  assert.equal(res.status, 201, `POST /chats: ${res.text}`);
  return res.json;
}

function assertTodo(t, expected) {
  for (const k of ['id', 'title', 'description', 'completed', 'priority', 'dueDate', 'userId', 'createdAt', 'updatedAt']) {
    assert.ok(k in t, `todo has ${k}: ${JSON.stringify(t)}`);
  }
  assert.match(t.createdAt, RFC3339_MS);
  assert.match(t.updatedAt, RFC3339_MS);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(t[k], v, `todo.${k}`);
}

for (const transports of TRANSPORTS) {
  const T = tname(transports);

  describe(`todo events [${T}]`, () => {
    test('todo:created / updated / completed / deleted reach every socket of the owner only', async () => {
      const alice = await registerUser(server, 'todoA');
      const mallory = await registerUser(server, 'todoM');
      const a1 = await sock(alice, transports);
      const a2 = await sock(alice, transports);
      const m = await sock(mallory, transports);
      const names = ['todo:created', 'todo:updated', 'todo:completed', 'todo:deleted'];
      const rec = (s) => Object.fromEntries(names.map((n) => [n, collect(s, n)]));
      const [ra1, ra2, rm] = [rec(a1), rec(a2), rec(m)];
      const orderA1 = [];
      a1.onAny((event) => orderA1.push(event));

      const created = await http(server, 'POST', '/todos', {
        token: alice.accessToken,
        body: { title: 'Новая задача', description: 'Описание задачи', dueDate: '2025-10-01T00:00:00.000Z' },
      });
      assert.equal(created.status, 201, created.text);
      const todo = created.json;
      assertTodo(todo, {
        title: 'Новая задача',
        description: 'Описание задачи',
        completed: false,
        priority: 'medium',
        dueDate: '2025-10-01T00:00:00.000Z',
        userId: alice.user.id,
      });
      for (const r of [ra1, ra2]) {
        await waitCount(r['todo:created'], 1, WAIT_MS, 'todo:created');
        assert.deepEqual(r['todo:created'][0], todo);
      }

      const patched = await http(server, 'PATCH', `/todos/${todo.id}`, {
        token: alice.accessToken,
        body: { completed: true },
      });
      assert.equal(patched.status, 200, patched.text);
      for (const [label, r] of [['a1', ra1], ['a2', ra2]]) {
        await waitCount(r['todo:completed'], 1, WAIT_MS, `${label} todo:completed`);
        assert.equal(r['todo:updated'].length, 1, `${label} todo:updated once`);
        assert.equal(r['todo:updated'][0].completed, true);
        assert.equal(r['todo:completed'][0].id, todo.id);
      }
      assert.deepEqual(orderA1, ['todo:created', 'todo:updated', 'todo:completed'], 'todo:completed follows todo:updated');
      // A PATCH that keeps completed=true is an update, not a second completion.
      const retitle = await http(server, 'PATCH', `/todos/${todo.id}`, { token: alice.accessToken, body: { title: 'renamed' } });
      assert.equal(retitle.status, 200);
      await waitCount(ra1['todo:updated'], 2, WAIT_MS, 'second todo:updated');
      assert.equal(ra1['todo:updated'][1].title, 'renamed');

      const del = await http(server, 'DELETE', `/todos/${todo.id}`, { token: alice.accessToken });
      assert.equal(del.status, 204, del.text);
      for (const r of [ra1, ra2]) {
        await waitCount(r['todo:deleted'], 1, WAIT_MS, 'todo:deleted');
        assert.deepEqual(r['todo:deleted'][0], { id: todo.id });
      }

      await sync(a1);
      await sync(m);
      assert.equal(ra1['todo:completed'].length, 1, 'todo:completed once');
      for (const n of names) assert.equal(rm[n].length, 0, `mallory got no ${n}`);
      // Another user's todo is 404 and emits nothing.
      const foreign = await http(server, 'POST', '/todos', { token: mallory.accessToken, body: { title: 'mine' } });
      const peek = await http(server, 'PATCH', `/todos/${foreign.json.id}`, { token: alice.accessToken, body: { completed: true } });
      assert.equal(peek.status, 404);
      await waitCount(rm['todo:created'], 1, WAIT_MS, 'mallory todo:created');
      await sync(m);
      await sync(a1);
      assert.equal(rm['todo:updated'].length, 0, 'no update event for a refused PATCH');
      assert.equal(ra1['todo:created'].length, 1, 'alice did not see mallory\'s todo');
      for (const s of [a1, a2, m]) s.disconnect();
    });
  });

  describe(`chats and messages [${T}]`, () => {
    let alice, bob, carol, chat;
    before(async () => {
      alice = await registerUser(server, 'chatA');
      bob = await registerUser(server, 'chatB');
      carol = await registerUser(server, 'chatC');
    });
    // The first test creates the chat (and checks chat:created); later tests reuse it,
    // or create it themselves if that test failed early.
    const theChat = async () => (chat ??= await createChat(alice, [bob]));

    test('chat:created reaches every participant, not outsiders', async () => {
      const a = await sock(alice, transports);
      const b = await sock(bob, transports);
      const c = await sock(carol, transports);
      const [ca, cb, cc] = [a, b, c].map((s) => collect(s, 'chat:created'));
      chat = await createChat(alice, [bob]);
      assert.deepEqual(chat.participants.map((p) => p.id).sort(), [alice.user.id, bob.user.id].sort());
      await waitCount(ca, 1, WAIT_MS, 'alice chat:created');
      await waitCount(cb, 1, WAIT_MS, 'bob chat:created');
      assert.equal(ca[0].id, chat.id);
      assert.equal(cb[0].id, chat.id);
      await sync(c);
      assert.equal(cc.length, 0, 'carol got no chat:created');
      for (const s of [a, b, c]) s.disconnect();
    });

    test('chat:join / chat:leave acks; outsiders get "Access denied"', async () => {
      await theChat();
      const a = await sock(alice, transports);
      const c = await sock(carol, transports);
      assert.deepEqual(await ack(a, 'chat:join', { chatId: chat.id }), { success: true, message: `Joined chat ${chat.id}` });
      assert.deepEqual(await ack(c, 'chat:join', { chatId: chat.id }), { success: false, error: 'Access denied' });
      assert.deepEqual(await ack(a, 'chat:leave', { chatId: chat.id }), { success: true, message: `Left chat ${chat.id}` });
      a.disconnect();
      c.disconnect();
    });

    test('message:send: stored before the ack, exactly one message:new on every participant socket, unread counts', async () => {
      await theChat();
      const aIn = await sock(alice, transports); // joined the chat room
      const aOut = await sock(alice, transports); // did not
      const bIn = await sock(bob, transports);
      const bOut = await sock(bob, transports);
      const c = await sock(carol, transports);
      await ack(aIn, 'chat:join', { chatId: chat.id });
      await ack(bIn, 'chat:join', { chatId: chat.id });
      const recs = [aIn, aOut, bIn, bOut, c].map((s) => collect(s, 'message:new'));

      const res = await ack(aIn, 'message:send', { chatId: chat.id, text: 'Привет, Bob' });
      assert.equal(res?.success, true, JSON.stringify(res));
      const msg = res.message;
      assert.equal(msg.chatId, chat.id);
      assert.deepEqual(msg.sender, { id: alice.user.id, username: alice.user.username });
      assert.equal(msg.text, 'Привет, Bob');
      assert.equal(msg.type, 'text');
      assert.match(msg.createdAt, RFC3339_MS);

      // Stored before the ack.
      const history = await http(server, 'GET', `/chats/${chat.id}/messages?limit=50`, { token: bob.accessToken });
      assert.equal(history.status, 200, history.text);
      assert.ok(history.json.some((m) => m.id === msg.id), 'message is in the history right after the ack');

      for (let i = 0; i < 4; i++) await waitCount(recs[i], 1, WAIT_MS, `socket ${i} message:new`);
      for (const s of [aIn, aOut, bIn, bOut, c]) await sync(s);
      assert.deepEqual(recs.map((r) => r.length), [1, 1, 1, 1, 0], 'exactly once per participant socket, none for carol');
      for (let i = 0; i < 4; i++) assert.equal(recs[i][0].id, msg.id);

      const bobChats = await http(server, 'GET', '/chats', { token: bob.accessToken });
      const aliceChats = await http(server, 'GET', '/chats', { token: alice.accessToken });
      assert.equal(bobChats.json.find((x) => x.id === chat.id).unreadCount, 1, 'bob unread +1');
      assert.equal(aliceChats.json.find((x) => x.id === chat.id).unreadCount, 0, 'sender unread unchanged');
      const read = await http(server, 'POST', `/chats/${chat.id}/read`, { token: bob.accessToken });
      assert.equal(read.status, 204);
      for (const s of [aIn, aOut, bIn, bOut, c]) s.disconnect();
    });

    test('message:send by an outsider is refused and delivers nothing', async () => {
      await theChat();
      const b = await sock(bob, transports);
      const c = await sock(carol, transports);
      const onB = collect(b, 'message:new');
      const res = await ack(c, 'message:send', { chatId: chat.id, text: 'sneaky' });
      assert.equal(res?.success, false, JSON.stringify(res));
      assert.equal(typeof res.error, 'string');
      await sync(b);
      assert.equal(onB.length, 0);
      b.disconnect();
      c.disconnect();
    });

    test('typing reaches the other participants, not the sender or outsiders', async () => {
      await theChat();
      const a = await sock(alice, transports);
      const b = await sock(bob, transports);
      const c = await sock(carol, transports);
      const [ta, tc] = [collect(a, 'typing'), collect(c, 'typing')];
      const got = waitEvent(b, 'typing');
      a.emit('typing', { chatId: chat.id, isTyping: true });
      assert.deepEqual(await got, { chatId: chat.id, userId: alice.user.id, username: alice.user.username, isTyping: true });
      await sync(a);
      await sync(c);
      assert.equal(ta.length, 0, 'sender gets no typing echo');
      assert.equal(tc.length, 0, 'outsider gets no typing');
      for (const s of [a, b, c]) s.disconnect();
    });

    test('presence:update on first connect and last disconnect, to users sharing a chat only', async () => {
      await theChat();
      const dave = await registerUser(server, 'presD');
      const erin = await registerUser(server, 'presE');
      const outsider = await registerUser(server, 'presO');
      await createChat(dave, [erin]);
      const d = await sock(dave, transports);
      const o = await sock(outsider, transports);
      const [pd, po] = [collect(d, 'presence:update'), collect(o, 'presence:update')];
      const e1 = await sock(erin, transports);
      await waitCount(pd, 1, WAIT_MS, 'presence online');
      assert.deepEqual(pd[0], { userId: erin.user.id, online: true });
      const e2 = await sock(erin, transports); // second tab: no new presence
      await sync(e2);
      e1.disconnect(); // one tab left: still online
      await new Promise((r) => setTimeout(r, 300)); // let the server process the disconnect
      await sync(e2);
      await sync(d);
      assert.equal(pd.length, 1, `no presence change while erin keeps a socket: ${JSON.stringify(pd)}`);
      e2.disconnect();
      await waitCount(pd, 2, WAIT_MS, 'presence offline');
      assert.deepEqual(pd[1], { userId: erin.user.id, online: false });
      await sync(o);
      assert.equal(po.length, 0, 'outsider sees no presence');
      d.disconnect();
      o.disconnect();
    });

    test('malformed payloads -> {success:false, error:"invalid payload: ..."} or an error event; the connection stays up', async () => {
      await theChat();
      const a = await sock(alice, transports);
      for (const [event, payload] of [
        ['message:send', { chatId: 5, text: 'x' }],
        ['message:send', { chatId: chat.id }],
        ['message:send', 'just text'],
        ['chat:join', {}],
        ['chat:join', 'chat-id'],
        ['chat:leave', { chatId: [] }],
      ]) {
        const res = await ack(a, event, payload);
        assert.equal(res?.success, false, `${event} ${JSON.stringify(payload)} -> ${JSON.stringify(res)}`);
        assert.match(String(res.error), /^invalid payload: /, `${event} ${JSON.stringify(payload)} -> ${JSON.stringify(res)}`);
      }
      const errEvent = waitEvent(a, 'error');
      a.emit('typing', { chatId: 42, isTyping: 'yes' });
      const err = await errEvent;
      assert.equal(typeof err.error, 'string', JSON.stringify(err));
      assert.equal(typeof err.message, 'string', JSON.stringify(err));
      assert.ok(a.connected);
      const ok = await ack(a, 'message:send', { chatId: chat.id, text: 'still here' });
      assert.equal(ok?.success, true, JSON.stringify(ok));
      a.disconnect();
    });

    test('/webrtc room chat:<chatId> admits participants only (access_denied)', async () => {
      await theChat();
      const a = await sock(alice, transports, '/webrtc');
      const c = await sock(carol, transports, '/webrtc');
      const ok = await ack(a, 'room:join', { roomId: `chat:${chat.id}` });
      assert.equal(ok?.success, true, JSON.stringify(ok));
      const denied = await ack(c, 'room:join', { roomId: `chat:${chat.id}` });
      assert.deepEqual({ success: denied?.success, error: denied?.error }, { success: false, error: 'access_denied' });
      a.disconnect();
      c.disconnect();
    });
  });
}
