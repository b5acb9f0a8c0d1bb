// Socket authentication and origin checks, driven by the official socket.io-client
// over websocket and over long-polling.

import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN,
  FOREIGN_ORIGIN,
  SERVER_BIN,
  TRANSPORTS,
  WAIT_MS,
  accessTokenCookie,
  ack,
  closeAll,
  connect,
  expectConnectError,
  http as req,
  mintToken,
  newUser,
  noneToken,
  registerUser,
  signJwt,
  startServer,
  tamperPayload,
  tname,
  waitEvent,
} from './helpers.mjs';

let server;
const issuedTokens = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  closeAll();
  await server?.stop();
});

/** Log in over HTTP and return the access_token cookie value (and the user). */
async function loginCookie() {
  const reg = await registerUser(server, 'cookie');
  const res = await req(server, 'POST', '/auth/login', {
    body: { email: reg.user.email, password: reg.password },
  });
  assert.equal(res.status, 200, `login: ${res.text}`);
  const c = accessTokenCookie(res.setCookies);
  assert.ok(c && c.value, `login sets an access_token cookie, got ${JSON.stringify(res.setCookies)}`);
  issuedTokens.push(c.value, res.json.accessToken, reg.accessToken);
  return { value: c.value, user: reg.user };
}

/** Who is this `/` socket? Uses the `join` -> `joined` round trip. */
async function identity(socket) {
  const joined = waitEvent(socket, 'joined');
  socket.emit('join');
  const data = await joined;
  return data.user;
}

for (const transports of TRANSPORTS) {
  describe(`token sources [${tname(transports)}]`, () => {
    test('handshake auth.token (raw jwt) connects as the token subject', async () => {
      const u = newUser();
      const token = mintToken(u, server.secret);
      issuedTokens.push(token);
      const s = await connect(server, '/', { transports, auth: { token } });
      const who = await identity(s);
      assert.deepEqual(who, { id: u.id, username: u.username, email: u.email });
      s.disconnect();
    });

    test('handshake auth.token "Bearer <jwt>" connects', async () => {
      const u = newUser();
      const token = mintToken(u, server.secret);
      issuedTokens.push(token);
      const s = await connect(server, '/', { transports, auth: { token: `Bearer ${token}` } });
      assert.equal((await identity(s)).id, u.id);
      s.disconnect();
    });

    test('query token (raw and "Bearer <jwt>") connects', async () => {
      for (const form of ['raw', 'bearer']) {
        const u = newUser();
        const token = mintToken(u, server.secret);
        issuedTokens.push(token);
        const s = await connect(server, '/', {
          transports,
          query: { token: form === 'raw' ? token : `Bearer ${token}` },
        });
        assert.equal((await identity(s)).id, u.id, `query token form ${form}`);
        s.disconnect();
      }
    });

    test('Authorization header (extraHeaders) connects', async () => {
      const u = newUser();
      const token = mintToken(u, server.secret);
      issuedTokens.push(token);
      const s = await connect(server, '/', { transports, extraHeaders: { authorization: `Bearer ${token}` } });
      assert.equal((await identity(s)).id, u.id);
      s.disconnect();
    });

    test('access_token cookie from POST /auth/login connects (no Origin, and with the allowed Origin)', async () => {
      const { value, user } = await loginCookie();
      const s1 = await connect(server, '/', {
        transports,
        extraHeaders: { Cookie: `theme=dark; access_token=${value}; other=1` },
      });
      assert.equal((await identity(s1)).id, user.id);
      s1.disconnect();
      const s2 = await connect(server, '/', {
        transports,
        extraHeaders: { Cookie: `access_token=${value}`, Origin: ALLOWED_ORIGIN },
      });
      assert.equal((await identity(s2)).id, user.id);
      s2.disconnect();
    });

    test('every token source also works on /webrtc', async () => {
      const { value } = await loginCookie();
      const u = newUser();
      const token = mintToken(u, server.secret);
      issuedTokens.push(token);
      const variants = {
        auth: { auth: { token } },
        query: { query: { token } },
        header: { extraHeaders: { authorization: `Bearer ${token}` } },
        cookie: { extraHeaders: { Cookie: `access_token=${value}` } },
      };
      for (const [name, opts] of Object.entries(variants)) {
        const s = await connect(server, '/webrtc', { transports, ...opts }).catch((e) => {
          throw new Error(`/webrtc via ${name}: ${e.message}`);
        });
        const pong = await ack(s, 'ping', { via: name });
        assert.equal(pong.message, 'pong', `/webrtc via ${name}`);
        s.disconnect();
      }
    });

    test('source precedence: auth.token > query > header > cookie', async () => {
      const [a, b, c] = [newUser('a'), newUser('b'), newUser('c')];
      const [ta, tb, tc] = [a, b, c].map((u) => mintToken(u, server.secret));
      const { value: cookie, user: cookieUser } = await loginCookie();
      issuedTokens.push(ta, tb, tc);
      const cases = [
        [{ auth: { token: ta }, query: { token: tb }, extraHeaders: { authorization: `Bearer ${tc}`, Cookie: `access_token=${cookie}` } }, a.id],
        [{ query: { token: tb }, extraHeaders: { authorization: `Bearer ${tc}`, Cookie: `access_token=${cookie}` } }, b.id],
        [{ extraHeaders: { authorization: `Bearer ${tc}`, Cookie: `access_token=${cookie}` } }, c.id],
        [{ extraHeaders: { Cookie: `access_token=${cookie}` } }, cookieUser.id],
      ];
      for (const [opts, expected] of cases) {
        const s = await connect(server, '/', { transports, ...opts });
        assert.equal((await identity(s)).id, expected, `sources ${JSON.stringify(Object.keys(opts))}`);
        s.disconnect();
      }
    });
  });

  describe(`refusals [${tname(transports)}]`, () => {
    const u = newUser('refused');
    const cases = () => {
      const valid = mintToken(u, server.secret);
      return {
        'no token': {},
        'empty auth.token': { auth: { token: '' } },
        'garbage token': { auth: { token: 'not-a-jwt' } },
        'expired token': { auth: { token: mintToken(u, server.secret, { iatOffsetSec: -7200, ttlSec: 3600 }) } },
        'wrong secret': { auth: { token: mintToken(u, randomBytes(32).toString('hex')) } },
        'tampered payload': { auth: { token: tamperPayload(valid, { sub: newUser().id }) } },
        'tampered payload (bearer, query)': { query: { token: `Bearer ${tamperPayload(valid, { username: 'admin' })}` } },
        'alg none': { auth: { token: noneToken(u) } },
        'alg none with signature of the secret': {
          auth: {
            token: signJwt({ alg: 'none', typ: 'JWT' }, { sub: u.id, username: u.username, email: u.email, exp: Math.floor(Date.now() / 1000) + 3600 }, server.secret),
          },
        },
        'HS512 token': {
          auth: { token: signJwtAlg('sha512', 'HS512', u, server.secret) },
        },
        'bad Authorization header': { extraHeaders: { authorization: `Bearer ${mintToken(u, 'other-secret')}` } },
        'bad access_token cookie': { extraHeaders: { Cookie: `access_token=${noneToken(u)}` } },
      };
    };

    for (const ns of ['/', '/webrtc']) {
      test(`each bad credential yields connect_error "unauthorized..." on ${ns}`, async () => {
        for (const [name, opts] of Object.entries(cases())) {
          const err = await expectConnectError(server, ns, { transports, ...opts }).catch((e) => {
            throw new Error(`${name}: ${e.message}`);
          });
          assert.match(String(err.message), /^unauthorized/, `${name}: connect_error message was ${JSON.stringify(err.message)}`);
        }
      });
    }

    test('foreign Origin carrying a valid cookie is refused; the same cookie with the allowed Origin works', async () => {
      const { value, user } = await loginCookie();
      for (const ns of ['/', '/webrtc']) {
        await expectConnectError(server, ns, {
          transports,
          extraHeaders: { Cookie: `access_token=${value}`, Origin: FOREIGN_ORIGIN },
        });
      }
      // A valid handshake token does not make a foreign Origin acceptable either.
      await expectConnectError(server, '/', {
        transports,
        auth: { token: mintToken(user, server.secret) },
        extraHeaders: { Origin: FOREIGN_ORIGIN },
      });
      const ok = await connect(server, '/', {
        transports,
        extraHeaders: { Cookie: `access_token=${value}`, Origin: ALLOWED_ORIGIN },
      });
      assert.equal((await identity(ok)).id, user.id);
      ok.disconnect();
    });
  });
}

function signJwtAlg(hash, alg, u, secret) {
  // Correctly signed, but with an algorithm other than HS256.
  return signJwtWith(hash, { alg, typ: 'JWT' }, { sub: u.id, username: u.username, email: u.email, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
}

function signJwtWith(hash, header, payload, secret) {
  const head = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${head}.${createHmac(hash, secret).update(head).digest('base64url')}`;
}

describe('raw Engine.IO handshake and Origin', () => {
  const handshakePath = '/socket.io/?EIO=4&transport=polling';

  test('polling handshake with a foreign Origin gets 403 and no sid', async () => {
    const u = newUser();
    const res = await req(server, 'GET', `${handshakePath}&token=${mintToken(u, server.secret)}`, {
      headers: { origin: FOREIGN_ORIGIN },
    });
    assert.equal(res.status, 403, `status ${res.status}, body ${res.text}`);
    assert.ok(!/"sid"/.test(res.text), `body must not carry a sid: ${res.text}`);
    assert.notEqual(res.headers.get('access-control-allow-origin'), FOREIGN_ORIGIN);
    assert.notEqual(res.headers.get('access-control-allow-origin'), '*');
  });

  test('polling handshake with the allowed Origin gets a sid and credentialed CORS headers', async () => {
    const res = await req(server, 'GET', handshakePath, { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /"sid"\s*:\s*"[^"]+"/);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });

  test('polling handshake without Origin (non-browser client) is not refused', async () => {
    const res = await req(server, 'GET', handshakePath);
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /"sid"/);
  });

  test('CORS preflight for the socket.io path answers the allowed Origin only', async () => {
    const ok = await req(server, 'OPTIONS', handshakePath, {
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
    });
    assert.ok(ok.status >= 200 && ok.status < 300, `preflight status ${ok.status}`);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const bad = await req(server, 'OPTIONS', handshakePath, {
      headers: { origin: FOREIGN_ORIGIN, 'access-control-request-method': 'POST' },
    });
    assert.notEqual(bad.headers.get('access-control-allow-origin'), FOREIGN_ORIGIN);
    assert.notEqual(bad.headers.get('access-control-allow-origin'), '*');
  });

  function rawUpgrade(origin) {
    return new Promise((resolve, reject) => {
      const headers = {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      };
      if (origin) headers.Origin = origin;
      const r = http.request({
        host: '127.0.0.1',
        port: server.port,
        path: '/socket.io/?EIO=4&transport=websocket',
        headers,
      });
      const t = setTimeout(() => {
        r.destroy();
        reject(new Error('timeout: no answer to the websocket upgrade'));
      }, WAIT_MS);
      r.on('upgrade', (res, sock) => {
        clearTimeout(t);
        sock.destroy();
        resolve(res.statusCode);
      });
      r.on('response', (res) => {
        clearTimeout(t);
        res.resume();
        resolve(res.statusCode);
      });
      r.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      r.end();
    });
  }

  test('websocket upgrade with a foreign Origin is refused with 403; allowed and absent Origin upgrade (101)', async () => {
    assert.equal(await rawUpgrade(FOREIGN_ORIGIN), 403);
    assert.equal(await rawUpgrade(ALLOWED_ORIGIN), 101);
    assert.equal(await rawUpgrade(undefined), 101);
  });
});

describe('switchboard token', () => {
  test('`switchboard token` prints a JWT that connects as that user on both namespaces', async () => {
    const u = newUser('cli');
    const out = spawnSync(SERVER_BIN, ['token', '--user-id', u.id, '--username', u.username, '--email', u.email, '--ttl', '1h'], {
      env: { ...process.env, JWT_SECRET: server.secret },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(out.status, 0, `exit ${out.status}: ${out.stderr}`);
    const token = out.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, `stdout is a JWT: ${JSON.stringify(out.stdout)}`);
    issuedTokens.push(token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    const now = Date.now() / 1000;
    assert.ok(claims.exp > now + 3000 && claims.exp < now + 3700, `--ttl 1h: exp ${claims.exp - now} s from now`);
    const s = await connect(server, '/', { transports: ['websocket'], auth: { token } });
    assert.deepEqual(await identity(s), { id: u.id, username: u.username, email: u.email });
    s.disconnect();
    const w = await connect(server, '/webrtc', { transports: ['polling'], auth: { token } });
    assert.equal((await ack(w, 'ping', 'cli')).echo, 'cli');
    w.disconnect();
  });
});

describe('logs', () => {
  test('tokens used during this file never appear in the server output', async () => {
    assert.ok(issuedTokens.length > 10, 'the earlier tests issued tokens');
    const logs = server.logs();
    for (const t of issuedTokens) {
      if (!t) continue;
      // The signature part alone is enough to identify a leak.
      const sig = t.split('.')[2];
      assert.ok(!logs.includes(t) && !(sig && sig.length > 20 && logs.includes(sig)), 'a token appears in the server output');
    }
  });
});
