// Shared helpers for the Switchboard compatibility suite.
//
// Starts the real `switchboard` binary, mints JWTs with node's crypto, and wraps
// the official socket.io-client with promise helpers that always fail on timeout
// (no test can pass by merely waiting).

import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, '..', '..');
export const SERVER_BIN =
  process.env.SWITCHBOARD_BIN || path.join(REPO_ROOT, 'target', 'debug', 'switchboard');

export const ALLOWED_ORIGIN = 'http://localhost:5173';
export const FOREIGN_ORIGIN = 'http://evil.example';
export const TRANSPORTS = [['websocket'], ['polling']];

/** Default time to wait for anything the server should do promptly. */
export const WAIT_MS = 5000;

// ---------------------------------------------------------------------------
// Server process
// ---------------------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/**
 * Start `switchboard serve` on a free loopback port.
 * Returns { url, port, secret, logs(), stop() }.
 */
export async function startServer({ env = {}, secret } = {}) {
  if (!existsSync(SERVER_BIN)) {
    throw new Error(
      `switchboard binary not found at ${SERVER_BIN} (build it with \`cargo build\` or set SWITCHBOARD_BIN)`,
    );
  }
  const jwtSecret = secret ?? randomBytes(32).toString('hex');
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const childEnv = { ...process.env };
    delete childEnv.PORT;
    delete childEnv.HOST;
    delete childEnv.ROOM_MAX_PEERS;
    Object.assign(childEnv, {
      JWT_SECRET: jwtSecret,
      DATABASE_URL: 'sqlite::memory:',
      CORS_ORIGINS: ALLOWED_ORIGIN,
      RUST_LOG: process.env.RUST_LOG || 'info',
      // Suites register many users from 127.0.0.1; the limit itself is
      // tested with its default in hostile.test.mjs.
      AUTH_RATE_LIMIT: '100000/min',
      ...env,
    });
    const child = spawn(SERVER_BIN, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let exited = null;
    const exitP = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        resolve(exited);
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20000;
    let up = false;
    while (Date.now() < deadline && !exited) {
      try {
        const res = await fetch(`${url}/health`);
        if (res.status === 200) {
          await res.arrayBuffer();
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await sleep(50);
    }
    if (up) {
      return {
        url,
        port,
        secret: jwtSecret,
        logs: () => out,
        async stop() {
          if (!exited) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exitP;
            clearTimeout(t);
          }
        },
      };
    }
    if (!exited) {
      child.kill('SIGKILL');
      await exitP;
    }
    lastErr = new Error(
      `switchboard did not become healthy on port ${port} (exit: ${JSON.stringify(exited)})\n--- output ---\n${out}`,
    );
  }
  throw lastErr;
}

// ---------------------------------------------------------------------------
// JWT (HS256 via node's crypto)
// ---------------------------------------------------------------------------

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
const b64json = (obj) => b64url(JSON.stringify(obj));

export function signJwt(header, payload, secret) {
  const head = `${b64json(header)}.${b64json(payload)}`;
  const sig = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

let userCounter = 0;
/** A fresh identity: { id, username, email }. */
export function newUser(prefix = 'user') {
  userCounter += 1;
  const tag = `${prefix}${userCounter}_${randomBytes(3).toString('hex')}`;
  return { id: randomUUID(), username: tag, email: `${tag}@example.com` };
}

/** Mint a valid HS256 token for `user` with `secret`. */
export function mintToken(user, secret, { ttlSec = 3600, iatOffsetSec = 0, extra = {} } = {}) {
  const now = Math.floor(Date.now() / 1000) + iatOffsetSec;
  return signJwt(
    { alg: 'HS256', typ: 'JWT' },
    { sub: user.id, username: user.username, email: user.email, iat: now, exp: now + ttlSec, ...extra },
    secret,
  );
}

/** Replace the payload of a signed token, keeping its header and signature. */
export function tamperPayload(token, changes) {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  return `${h}.${b64json({ ...payload, ...changes })}.${s}`;
}

/** An unsigned `alg: none` token. */
export function noneToken(user) {
  const now = Math.floor(Date.now() / 1000);
  return `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json({
    sub: user.id,
    username: user.username,
    email: user.email,
    iat: now,
    exp: now + 3600,
  })}.`;
}

// ---------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------

export async function http(server, method, pathname, { body, token, cookie, headers = {} } = {}) {
  const h = { ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (token) h.authorization = `Bearer ${token}`;
  if (cookie) h.cookie = cookie;
  const res = await fetch(`${server.url}${pathname}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, setCookies: res.headers.getSetCookie() };
}

/** Find the `access_token=...` Set-Cookie line; returns { raw, value, attrs } or undefined. */
export function accessTokenCookie(setCookies) {
  const raw = setCookies.find((c) => /^\s*access_token=/i.test(c));
  if (!raw) return undefined;
  const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
  const value = pair.slice(pair.indexOf('=') + 1);
  return { raw, value, attrs: attrs.map((a) => a.toLowerCase()) };
}

/** Register a fresh user over HTTP. Returns { user, accessToken, cookieValue, password }. */
export async function registerUser(server, prefix = 'reg') {
  const u = newUser(prefix);
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const res = await http(server, 'POST', '/auth/register', {
    body: { email: u.email, username: u.username, password },
  });
  if (res.status !== 201) {
    throw new Error(`register failed: ${res.status} ${res.text}`);
  }
  const c = accessTokenCookie(res.setCookies);
  return { user: res.json.user, accessToken: res.json.accessToken, cookieValue: c?.value, password };
}

// ---------------------------------------------------------------------------
// socket.io-client helpers
// ---------------------------------------------------------------------------

const openSockets = new Set();

/** Create a client socket (not yet connected unless autoConnect). */
export function makeSocket(server, ns = '/', opts = {}) {
  const { transports = ['websocket'], ...rest } = opts;
  const socket = io(`${server.url}${ns === '/' ? '/' : ns}`, {
    transports,
    forceNew: true,
    reconnection: false,
    timeout: WAIT_MS,
    autoConnect: false,
    ...rest,
  });
  openSockets.add(socket);
  return socket;
}

/** Connect; resolves with the socket on `connect`, rejects on `connect_error` or timeout. */
export function connect(server, ns = '/', opts = {}) {
  const socket = makeSocket(server, ns, opts);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      cleanup();
      socket.disconnect();
      reject(new Error(`timeout: no connect on ${ns} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      socket.disconnect();
      reject(Object.assign(new Error(`connect_error on ${ns}: ${err && err.message}`), { cause: err }));
    };
    const cleanup = () => {
      clearTimeout(t);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

/** Connect with a minted token in handshake auth. */
export function connectAs(server, user, ns = '/', transports = ['websocket'], extra = {}) {
  return connect(server, ns, { transports, auth: { token: mintToken(user, server.secret) }, ...extra });
}

/**
 * Expect the connection to be refused. Resolves with the connect_error Error.
 * Fails if the socket ever connects, or if no connect_error arrives in time.
 */
export function expectConnectError(server, ns = '/', opts = {}) {
  const socket = makeSocket(server, ns, opts);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.disconnect();
      reject(new Error(`timeout: expected connect_error on ${ns}, got nothing in ${WAIT_MS} ms`));
    }, WAIT_MS);
    socket.on('connect', () => {
      clearTimeout(t);
      socket.disconnect();
      reject(new Error(`expected refusal on ${ns}, but the socket connected (id ${socket.id})`));
    });
    socket.on('connect_error', (err) => {
      clearTimeout(t);
      // Give a late `connect` no chance to be missed: the client is done.
      const connected = socket.connected;
      socket.disconnect();
      if (connected) reject(new Error('socket is connected despite connect_error'));
      else resolve(err);
    });
    socket.connect();
  });
}

/** Wait for one `event`; rejects on timeout. Resolves with the first argument. */
export function waitEvent(socket, event, ms = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timeout: no '${event}' within ${ms} ms`));
    }, ms);
    const on = (data) => {
      clearTimeout(t);
      socket.off(event, on);
      resolve(data);
    };
    socket.on(event, on);
  });
}

/** Record every `event` on `socket` (first argument). */
export function collect(socket, event) {
  const items = [];
  socket.on(event, (data) => items.push(data));
  return items;
}

/** Wait until `arr.length >= n`; rejects on timeout with what was seen. */
export async function waitCount(arr, n, ms = WAIT_MS, what = 'items') {
  const deadline = Date.now() + ms;
  while (arr.length < n) {
    if (Date.now() > deadline) {
      throw new Error(`timeout: expected ${n} ${what}, got ${arr.length}`);
    }
    await sleep(10);
  }
  return arr;
}

/** Emit with an ack; rejects on timeout. */
export async function ack(socket, event, ...args) {
  try {
    return await socket.timeout(WAIT_MS).emitWithAck(event, ...args);
  } catch (e) {
    const shown = JSON.stringify(args)?.slice(0, 160);
    throw new Error(
      `no ack for '${event}' ${shown} within ${WAIT_MS} ms (socket ${socket.id}, connected=${socket.connected}): ${e.message}`,
    );
  }
}

/**
 * A sync point on `socket`: a /webrtc `ping` round trip (ack). Anything the
 * server queued for this socket before handling the ping has arrived once
 * this resolves.
 */
export async function webrtcSync(socket) {
  const res = await ack(socket, 'ping', { sync: true });
  if (!res || res.message !== 'pong') throw new Error(`sync ping got ${JSON.stringify(res)}`);
}

export function closeAll() {
  for (const s of openSockets) {
    try {
      s.disconnect();
    } catch {
      /* ignore */
    }
  }
  openSockets.clear();
}

/** Human label for a transport list. */
export const tname = (transports) => transports.join('+');

/**
 * The seed clients' pattern: `socket.on('connect', () => socket.emit(event, ...))`.
 * Opens `n` connections one after another, each emitting `event` (with an ack)
 * from inside its `connect` listener. Returns how many acks never came.
 */
export async function emitOnConnectLosses(server, user, ns, event, payload, transports, n) {
  const pending = [];
  for (let i = 0; i < n; i++) {
    const s = makeSocket(server, ns, { transports, auth: { token: mintToken(user, server.secret) } });
    const acked = new Promise((resolve) => {
      s.on('connect', () => {
        const cb = (err, res) => resolve(!err && res != null);
        if (payload === undefined) s.timeout(WAIT_MS).emit(event, cb);
        else s.timeout(WAIT_MS).emit(event, payload, cb);
      });
      s.on('connect_error', () => resolve(false));
    });
    s.connect();
    // Keep connecting sequentially, but do not wait for the ack before the next one.
    await new Promise((r) => {
      if (s.connected) return r();
      s.once('connect', r);
      s.once('connect_error', r);
    });
    pending.push(acked.finally(() => s.disconnect()));
  }
  const results = await Promise.all(pending);
  return results.filter((ok) => !ok).length;
}
