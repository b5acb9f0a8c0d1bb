// HTTP auth endpoints, /users search and /health, as a web client sees them.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ALLOWED_ORIGIN, FOREIGN_ORIGIN, accessTokenCookie, http, newUser, startServer } from './helpers.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

const pw = () => `pw-${randomBytes(6).toString('hex')}`;

function assertErrorBody(res, what) {
  assert.equal(typeof res.json?.error, 'string', `${what}: error body ${res.text}`);
  assert.equal(typeof res.json?.message, 'string', `${what}: error body ${res.text}`);
}

function assertUserShape(user, expected) {
  assert.equal(typeof user.id, 'string');
  assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'user id is a UUID');
  assert.equal(user.username, expected.username);
  assert.equal(user.email, expected.email);
  for (const k of Object.keys(user)) {
    assert.ok(!/pass|hash/i.test(k), `user object must not expose ${k}`);
  }
}

function assertSessionCookie(setCookies) {
  const c = accessTokenCookie(setCookies);
  assert.ok(c, `Set-Cookie access_token present: ${JSON.stringify(setCookies)}`);
  assert.ok(c.value.length > 20, 'cookie carries the token');
  assert.ok(c.attrs.includes('httponly'), `HttpOnly: ${c.raw}`);
  assert.ok(c.attrs.includes('samesite=lax'), `SameSite=Lax: ${c.raw}`);
  assert.ok(c.attrs.includes('path=/'), `Path=/: ${c.raw}`);
  return c;
}

describe('health', () => {
  test('GET /health -> 200 {"status":"ok"}', async () => {
    const res = await http(server, 'GET', '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });
});

describe('register', () => {
  test('POST /auth/register -> 201 {accessToken, user} + session cookie', async () => {
    const u = newUser('alice');
    const res = await http(server, 'POST', '/auth/register', {
      body: { email: u.email, username: u.username, password: pw() },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(typeof res.json.accessToken, 'string');
    assert.equal(res.json.accessToken.split('.').length, 3, 'accessToken is a JWT');
    assertUserShape(res.json.user, u);
    const c = assertSessionCookie(res.setCookies);
    // The token in the cookie identifies the same user.
    const me = await http(server, 'GET', '/auth/me', { cookie: `access_token=${c.value}` });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.id, res.json.user.id);
    // The JWT carries the documented claims.
    const claims = JSON.parse(Buffer.from(res.json.accessToken.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, res.json.user.id);
    assert.equal(claims.username, u.username);
    assert.equal(claims.email, u.email);
    assert.equal(typeof claims.iat, 'number');
    assert.ok(claims.exp > claims.iat);
    const header = JSON.parse(Buffer.from(res.json.accessToken.split('.')[0], 'base64url').toString());
    assert.equal(header.alg, 'HS256');
  });

  test('duplicate email -> 409 with an error body, first account unchanged', async () => {
    const u = newUser('dup');
    const password = pw();
    const first = await http(server, 'POST', '/auth/register', {
      body: { email: u.email, username: u.username, password },
    });
    assert.equal(first.status, 201, first.text);
    const again = await http(server, 'POST', '/auth/register', {
      body: { email: u.email, username: `${u.username}x`, password: pw() },
    });
    assert.equal(again.status, 409, again.text);
    assertErrorBody(again, 'duplicate');
    assert.equal(accessTokenCookie(again.setCookies), undefined, 'no session cookie on 409');
    const login = await http(server, 'POST', '/auth/login', { body: { email: u.email, password } });
    assert.equal(login.status, 200, 'the original password still works');
    assert.equal(login.json.user.username, u.username);
  });

  test('invalid input -> 400 with an error body, nothing created', async () => {
    const u = newUser('inv');
    const cases = {
      'bad email': { email: 'not-an-email', username: u.username, password: pw() },
      'short username': { email: u.email, username: 'ab', password: pw() },
      'long username': { email: u.email, username: 'a'.repeat(33), password: pw() },
      'short password': { email: u.email, username: u.username, password: '1234567' },
      'missing password': { email: u.email, username: u.username },
      'wrong types': { email: 42, username: u.username, password: pw() },
    };
    for (const [name, body] of Object.entries(cases)) {
      const res = await http(server, 'POST', '/auth/register', { body });
      assert.equal(res.status, 400, `${name}: ${res.status} ${res.text}`);
      assertErrorBody(res, name);
      assert.equal(accessTokenCookie(res.setCookies), undefined, `${name}: no cookie`);
    }
    const malformed = await http(server, 'POST', '/auth/register', { body: '{"email":' });
    assert.equal(malformed.status, 400, `malformed JSON: ${malformed.status} ${malformed.text}`);
    // None of the rejected attempts created the account: the email is still free.
    const ok = await http(server, 'POST', '/auth/register', {
      body: { email: u.email, username: u.username, password: pw() },
    });
    assert.equal(ok.status, 201, ok.text);
  });

  test('boundary input is accepted: 3 and 32 char usernames, 8 char password', async () => {
    for (const username of [`u${randomBytes(1).toString('hex')}`.slice(0, 3), `x${randomBytes(16).toString('hex')}`.slice(0, 32)]) {
      const email = `${randomBytes(4).toString('hex')}@example.com`;
      const res = await http(server, 'POST', '/auth/register', { body: { email, username, password: '12345678' } });
      assert.equal(res.status, 201, `${username.length} chars: ${res.text}`);
    }
  });
});

describe('login, me, logout', () => {
  test('POST /auth/login -> 200 with body and cookie; wrong password / unknown email -> 401', async () => {
    const u = newUser('bob');
    const password = pw();
    const reg = await http(server, 'POST', '/auth/register', { body: { email: u.email, username: u.username, password } });
    assert.equal(reg.status, 201);
    const res = await http(server, 'POST', '/auth/login', { body: { email: u.email, password } });
    assert.equal(res.status, 200, res.text);
    assert.equal(typeof res.json.accessToken, 'string');
    assertUserShape(res.json.user, u);
    assert.equal(res.json.user.id, reg.json.user.id);
    assertSessionCookie(res.setCookies);

    const bad = await http(server, 'POST', '/auth/login', { body: { email: u.email, password: `${password}!` } });
    assert.equal(bad.status, 401, bad.text);
    assertErrorBody(bad, 'wrong password');
    assert.equal(accessTokenCookie(bad.setCookies), undefined);
    const unknown = await http(server, 'POST', '/auth/login', { body: { email: `nobody-${u.email}`, password } });
    assert.equal(unknown.status, 401, unknown.text);
    assertErrorBody(unknown, 'unknown email');
  });

  test('GET /auth/me with Authorization header and with cookie -> 200 {user}; without/invalid -> 401', async () => {
    const u = newUser('me');
    const reg = await http(server, 'POST', '/auth/register', { body: { email: u.email, username: u.username, password: pw() } });
    assert.equal(reg.status, 201);
    const viaHeader = await http(server, 'GET', '/auth/me', { token: reg.json.accessToken });
    assert.equal(viaHeader.status, 200, viaHeader.text);
    assertUserShape(viaHeader.json.user, u);
    assert.equal(viaHeader.json.user.id, reg.json.user.id);
    const cookie = accessTokenCookie(reg.setCookies).value;
    const viaCookie = await http(server, 'GET', '/auth/me', { cookie: `access_token=${cookie}` });
    assert.equal(viaCookie.status, 200, viaCookie.text);
    assert.equal(viaCookie.json.user.id, reg.json.user.id);

    const none = await http(server, 'GET', '/auth/me');
    assert.equal(none.status, 401);
    assertErrorBody(none, 'no token');
    const tampered = reg.json.accessToken.slice(0, -4) + (reg.json.accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad = await http(server, 'GET', '/auth/me', { token: tampered });
    assert.equal(bad.status, 401);
    const badCookie = await http(server, 'GET', '/auth/me', { cookie: 'access_token=garbage' });
    assert.equal(badCookie.status, 401);
  });

  test('POST /auth/logout -> 204 and clears the cookie', async () => {
    const u = newUser('out');
    const reg = await http(server, 'POST', '/auth/register', { body: { email: u.email, username: u.username, password: pw() } });
    const cookie = accessTokenCookie(reg.setCookies).value;
    const res = await http(server, 'POST', '/auth/logout', { cookie: `access_token=${cookie}` });
    assert.equal(res.status, 204, res.text);
    const c = accessTokenCookie(res.setCookies);
    assert.ok(c, `logout sends Set-Cookie access_token: ${JSON.stringify(res.setCookies)}`);
    const expiresAttr = c.attrs.find((a) => a.startsWith('expires='));
    const cleared =
      c.attrs.includes('max-age=0') ||
      (expiresAttr && Date.parse(expiresAttr.slice('expires='.length)) <= Date.now());
    assert.ok(cleared, `cookie is expired (Max-Age=0 or past Expires): ${c.raw}`);
    assert.ok(c.attrs.includes('path=/'), `cleared for Path=/: ${c.raw}`);
  });
});

describe('users search', () => {
  test('GET /users?search= finds users by username, [{id, username, email}]', async () => {
    const tag = randomBytes(4).toString('hex');
    const carol = { username: `carol_${tag}`, email: `carol_${tag}@example.com` };
    const dave = { username: `dave_${tag}`, email: `dave_${tag}@example.com` };
    let token;
    const ids = {};
    for (const u of [carol, dave]) {
      const r = await http(server, 'POST', '/auth/register', { body: { ...u, password: pw() } });
      assert.equal(r.status, 201, r.text);
      token = r.json.accessToken;
      ids[u.username] = r.json.user.id;
    }
    const res = await http(server, 'GET', `/users?search=${encodeURIComponent(`carol_${tag}`)}`, { token });
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.json), `array body: ${res.text}`);
    const found = res.json.find((x) => x.username === carol.username);
    assert.ok(found, `carol is found: ${res.text}`);
    assertUserShape(found, carol);
    assert.equal(found.id, ids[carol.username]);
    assert.ok(!res.json.some((x) => x.username === dave.username), 'dave does not match carol_');

    const both = await http(server, 'GET', `/users?search=${tag}`, { token });
    assert.equal(both.status, 200);
    const names = both.json.map((x) => x.username);
    assert.ok(names.includes(carol.username) || names.includes(dave.username), `search by shared tag finds someone: ${both.text}`);

    const nothing = await http(server, 'GET', `/users?search=zz${randomBytes(8).toString('hex')}`, { token });
    assert.equal(nothing.status, 200);
    assert.deepEqual(nothing.json, []);
  });

  test('GET /users without a token -> 401', async () => {
    const res = await http(server, 'GET', '/users?search=a');
    assert.equal(res.status, 401, res.text);
  });
});

describe('HTTP CORS', () => {
  test('preflight from the allowed origin allows credentials; a foreign origin gets no allow-origin', async () => {
    const ok = await http(server, 'OPTIONS', '/auth/login', {
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.ok(ok.status >= 200 && ok.status < 300, `preflight ${ok.status}`);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    const bad = await http(server, 'OPTIONS', '/auth/login', {
      headers: { origin: FOREIGN_ORIGIN, 'access-control-request-method': 'POST' },
    });
    const acao = bad.headers.get('access-control-allow-origin');
    assert.ok(acao !== FOREIGN_ORIGIN && acao !== '*', `foreign origin must not be allowed, got ${acao}`);
  });

  test('a simple request from the allowed origin gets credentialed CORS headers', async () => {
    const res = await http(server, 'GET', '/health', { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });
});
