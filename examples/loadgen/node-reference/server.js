// Minimal NestJS-style socket.io server for the /webrtc contract subset (JWT auth,
// room:join/leave, offer/answer/ice-candidate relay). Benchmark comparison only:
//   npm ci --prefix examples/loadgen/node-reference
//   JWT_SECRET=s PORT=3001 node examples/loadgen/node-reference/server.js
const http = require('http');
const { Server } = require('socket.io');
const jwt = require('jsonwebtoken');
const secret = process.env.JWT_SECRET || 's';
const port = +(process.env.PORT || 3001);
const maxPeers = +(process.env.ROOM_MAX_PEERS || 16);
const srv = http.createServer();
const io = new Server(srv, { transports: ['websocket', 'polling'] });
const nsp = io.of('/webrtc');
nsp.use((socket, next) => {
  let t = socket.handshake.auth && socket.handshake.auth.token;
  if (!t) return next(new Error('unauthorized: missing token'));
  if (t.startsWith('Bearer ')) t = t.slice(7);
  try { socket.data.user = jwt.verify(t, secret, { algorithms: ['HS256'] }); next(); }
  catch (e) { next(new Error('unauthorized: ' + e.message)); }
});
const rooms = new Map(); // roomId -> Map(peerId -> user)
nsp.on('connection', (socket) => {
  const u = socket.data.user;
  socket.join('user-' + u.sub);
  const mine = new Set();
  socket.on('ping', (p, ack) => { const r = { message: 'pong', echo: p, serverTime: Date.now() }; socket.emit('pong', r); if (typeof ack === 'function') ack(r); });
  socket.on('room:join', (p, ack) => {
    const roomId = p && p.roomId;
    if (typeof roomId !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(roomId)) return ack && ack({ success: false, error: 'invalid_room' });
    let r = rooms.get(roomId); if (!r) { r = new Map(); rooms.set(roomId, r); }
    if (!r.has(socket.id) && r.size >= maxPeers) return ack && ack({ success: false, error: 'room_full' });
    const peers = [...r.entries()].filter(([id]) => id !== socket.id).map(([peerId, x]) => ({ peerId, userId: x.sub, username: x.username }));
    r.set(socket.id, u); mine.add(roomId); socket.join('rtc-' + roomId);
    socket.to('rtc-' + roomId).emit('peer:joined', { roomId, peerId: socket.id, userId: u.sub, username: u.username });
    ack && ack({ success: true, roomId, peerId: socket.id, peers, iceServers: [] });
  });
  const leave = (roomId, reason) => {
    const r = rooms.get(roomId); if (!r || !r.delete(socket.id)) return;
    if (r.size === 0) rooms.delete(roomId);
    mine.delete(roomId); socket.leave('rtc-' + roomId);
    nsp.to('rtc-' + roomId).emit('peer:left', { roomId, peerId: socket.id, userId: u.sub, reason });
  };
  socket.on('room:leave', (p, ack) => { leave(p && p.roomId, 'left'); ack && ack({ success: true }); });
  socket.on('disconnect', () => { for (const r of [...mine]) leave(r, 'disconnected'); });
  const shares = (to) => { for (const r of mine) { const m = rooms.get(r); if (m && m.has(to)) return true; } return false; };
  for (const ev of ['offer', 'answer', 'ice-candidate']) {
    socket.on(ev, (p, ack) => {
      if (!p || typeof p.to !== 'string') return ack && ack({ success: false, error: 'invalid_payload' });
      if (!shares(p.to)) return ack && ack({ success: false, error: 'peer_not_in_room' });
      const out = ev === 'ice-candidate' ? { from: socket.id, candidate: p.candidate } : { from: socket.id, fromUser: { id: u.sub, username: u.username }, sdp: p.sdp };
      nsp.to(p.to).emit(ev, out);
      ack && ack({ success: true });
    });
  }
});
srv.listen(port, '127.0.0.1', () => console.log('ref socket.io server on', port));
