// End-to-end: call invitations in the web client, driven in headless
// Chromium against the real `switchboard` binary (inside run.sh's network
// namespace that has only `lo`). Bob has two tabs open: both ring, one
// answers, the other stops ringing; video plays both ways. Then decline,
// cancel, timeout, and a webrtc-rs peer (examples/peer.rs) calling a browser
// (`--call`) and answering one (`--answer`).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { ARTIFACTS, WEB_DIR, launchBrowser, newContext, screenshot, startServer, unique, waitRemoteVideo } from './harness.mjs'

const PASSWORD = 'correct-horse-battery'
const T = 20_000
const RING_TIMEOUT_S = 5
const PEER_BIN = resolve(WEB_DIR, process.env.PEER_BIN ?? '../target/debug/examples/peer')

async function register(url, name) {
  const user = { email: `${unique(name)}@example.com`, username: unique(`${name}_`) }
  const r = await fetch(`${url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...user, password: PASSWORD }),
  })
  assert.equal(r.status, 201, `register ${name}`)
  const body = await r.json()
  return { ...user, id: body.user.id, token: body.accessToken }
}

/** A tab signed in as `user` (cookie session), its phone connected. */
async function tab(ctx, url, user, hash = '#/call') {
  const page = await ctx.newPage()
  await page.goto(`${url}/${hash}`)
  const status = await page.evaluate(
    async ([email, password]) =>
      (await fetch('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).status,
    [user.email, PASSWORD],
  )
  assert.equal(status, 200)
  await page.reload()
  await page.getByTestId('current-user').filter({ hasText: user.username }).waitFor({ timeout: T })
  await page.locator('[data-testid=phone-connection][data-status=connected]').waitFor({ timeout: T })
  return page
}

/** Rings `who` from the dialer; resolves with the ringing screen's status once placed. */
async function dial(page, who, kind = 'video', expect = 'ringing') {
  await page.goto(page.url().replace(/#.*$/, '#/call'))
  await page.getByTestId('dial-search').fill(who.username)
  await page.getByTestId('dial-search-submit').click()
  await page.locator(`[data-testid=dial-result][data-username="${who.username}"] [data-testid=dial-${kind}]`).click()
  // Placed: ringing or refused, or already accepted (the call room is open).
  const placed = page.locator('[data-testid=outgoing-call]:not([data-status=placing]), [data-testid=call]').first()
  await placed.waitFor({ timeout: T })
  const status = (await placed.getAttribute('data-status')) ?? 'accepted'
  if (expect) assert.equal(status, expect, await page.getByTestId('outgoing-status').textContent())
  return status
}

const ringing = (page) => page.getByTestId('incoming-call')
const notice = (page, text) => page.getByTestId('call-notice').filter({ hasText: text })

/** Runs examples/peer.rs; resolves lines as they come. */
function peer(args, token, name) {
  const log = createWriteStream(join(ARTIFACTS, `peer-${name}.log`))
  const child = spawn(PEER_BIN, [...args, '--loopback-only', '--duration', '60'], {
    env: { ...process.env, SWITCHBOARD_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines = []
  let buf = ''
  child.stdout.on('data', (d) => {
    log.write(d)
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
  })
  child.stderr.pipe(log)
  const exited = new Promise((r) => child.on('exit', r))
  return {
    lines,
    async waitLine(re, timeout = T) {
      const end = Date.now() + timeout
      for (;;) {
        const hit = lines.find((l) => re.test(l))
        if (hit) return hit
        if (Date.now() > end) throw new Error(`peer ${name}: no line matching ${re} in ${timeout} ms; got:\n${lines.join('\n')}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    async stop() {
      child.kill('SIGINT')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(t)
    },
  }
}

describe('Call invitations in the web client', { timeout: 300_000 }, () => {
  let server, browser, ctxA, ctxB, alice, bob, a, b1, b2

  before(async () => {
    if (!existsSync(PEER_BIN)) throw new Error(`${PEER_BIN} missing: cargo build --example peer`)
    server = await startServer({ CALL_RING_TIMEOUT: `${RING_TIMEOUT_S}s` })
    browser = await launchBrowser()
    ctxA = await newContext(browser, 'alice')
    ctxB = await newContext(browser, 'bob')
    alice = await register(server.url, 'alice')
    bob = await register(server.url, 'bob')
    a = await tab(ctxA, server.url, alice)
    b1 = await tab(ctxB, server.url, bob, '#/todos')
    b2 = await tab(ctxB, server.url, bob, '#/chats')
  })

  after(async () => {
    for (const ctx of [ctxA, ctxB]) {
      const interesting = (ctx?.logs ?? []).filter((l) => !l.includes('401 (Unauthorized)'))
      if (interesting.length) console.log(interesting.slice(-40).join('\n'))
    }
    await browser?.close()
    await server?.stop()
  })

  test('both tabs ring; accepting on one stops the other; video plays both ways; hanging up ends it', async () => {
    await a.getByTestId('dial-search').fill(bob.username)
    await a.getByTestId('dial-search-submit').click()
    const button = a.locator(`[data-testid=dial-result][data-username="${bob.username}"] [data-testid=dial-video]`)
    await button.waitFor({ timeout: T })
    const t0 = Date.now()
    await button.click()
    await Promise.all([b1, b2].map((b) => ringing(b).waitFor({ timeout: T })))
    console.log(`invite_to_ring_ms=${Date.now() - t0} (call button click to both of Bob's tabs showing the incoming call)`)
    for (const b of [b1, b2]) {
      assert.equal(await b.getByTestId('incoming-caller').textContent(), alice.username)
    }
    await a.locator('[data-testid=outgoing-call][data-status=ringing]').waitFor({ timeout: T })
    await screenshot(b1, 'calls-01-ringing')
    const t1 = Date.now()
    await b1.getByTestId('accept-call').click()
    await ringing(b2).waitFor({ state: 'detached', timeout: T })
    await notice(b2, 'Answered on another device').waitFor({ timeout: T })
    assert.equal(await ringing(b1).count(), 0)

    for (const p of [a, b1]) await p.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })
    assert.match(a.url(), /#\/call\/call%3A|#\/call\/call:/)
    const seenByA = await waitRemoteVideo(a, bob.username)
    const seenByB = await waitRemoteVideo(b1, alice.username)
    console.log(`accept_to_media_ms=${Date.now() - t1} (accept click to video playing on both sides)`)
    assert.ok(seenByA.width > 0 && seenByB.width > 0)
    // The second tab stayed where it was, out of the call.
    assert.match(b2.url(), /#\/chats/)
    await screenshot(a, 'calls-02-in-call')

    await a.getByTestId('leave-call').click()
    await notice(b1, 'left the call').waitFor({ timeout: T })
    await b1.waitForURL(/#\/call$/, { timeout: T })
    await notice(b1, 'Call ended').waitFor({ timeout: T })

    const first = a.getByTestId('call-log-entry').first()
    await first.waitFor({ timeout: T })
    assert.equal(await first.getAttribute('data-outcome'), 'answered')
    assert.equal(await first.getAttribute('data-direction'), 'outgoing')
  })

  test('declining on one tab tells the caller and stops the other tab', async () => {
    await dial(a, bob, 'audio')
    await ringing(b1).waitFor({ timeout: T })
    await ringing(b2).waitFor({ timeout: T })
    await b2.getByTestId('decline-call').click()
    await a.locator('[data-testid=outgoing-call][data-status=declined]').waitFor({ timeout: T })
    assert.match(await a.getByTestId('outgoing-status').textContent(), /declined/)
    await ringing(b1).waitFor({ state: 'detached', timeout: T })
    await a.getByTestId('dismiss-call').click()
  })

  test('the caller cancels: both tabs stop ringing and the call shows as missed', async () => {
    await dial(a, bob, 'video')
    await ringing(b1).waitFor({ timeout: T })
    await ringing(b2).waitFor({ timeout: T })
    await a.getByTestId('cancel-call').click()
    for (const b of [b1, b2]) {
      await ringing(b).waitFor({ state: 'detached', timeout: T })
      await notice(b, 'ended the call before you answered').waitFor({ timeout: T })
    }
    await b1.goto(`${server.url}/#/call`)
    const first = b1.getByTestId('call-log-entry').first()
    await first.waitFor({ timeout: T })
    assert.equal(await first.getAttribute('data-missed'), 'true')
    assert.equal(await first.getAttribute('data-direction'), 'incoming')
  })

  test('nobody answers: the caller sees the timeout and the tabs a missed call', async () => {
    const t0 = Date.now()
    await dial(a, bob, 'audio')
    await ringing(b1).waitFor({ timeout: T })
    await a.locator('[data-testid=outgoing-call][data-status=timeout]').waitFor({ timeout: T })
    assert.ok(Date.now() - t0 >= (RING_TIMEOUT_S - 1) * 1000, 'not before the ring timeout')
    assert.match(await a.getByTestId('outgoing-status').textContent(), /No answer/)
    for (const b of [b1, b2]) {
      await ringing(b).waitFor({ state: 'detached', timeout: T })
      await notice(b, 'Missed call from').waitFor({ timeout: T })
    }
    await a.getByTestId('dismiss-call').click()
  })

  test('a webrtc-rs peer calls a browser (--call), and answers a browser (--answer)', async () => {
    const carol = await register(server.url, 'carol')
    const caller = peer(['--url', server.url, '--call', bob.id, '--send', 'hi from carol'], carol.token, 'call')
    try {
      await ringing(b1).waitFor({ timeout: T })
      assert.equal(await b1.getByTestId('incoming-caller').textContent(), carol.username)
      await b1.getByTestId('accept-call').click()
      await b1.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })
      await b1
        .locator(`[data-testid=remote-tile][data-username="${carol.username}"][data-connection-state=connected]`)
        .waitFor({ timeout: T })
      await caller.waitLine(/^state .*: connected/)
      await b1.getByTestId('leave-call').click()
      await caller.waitLine(/call ended by .*: hangup/)
    } finally {
      await caller.stop()
    }

    const answerer = peer(['--url', server.url, '--answer'], carol.token, 'answer')
    try {
      await answerer.waitLine(/waiting for a call/)
      // The peer's socket must be up before it can ring: retry on `unavailable`.
      for (let i = 0; ; i++) {
        const status = await dial(a, carol, 'video', null)
        if (status === 'ringing' || status === 'accepted') break
        assert.ok(i < 40, `carol's peer never became reachable (${status})`)
        await a.getByTestId('dismiss-call').click()
        await a.waitForTimeout(250)
      }
      await answerer.waitLine(/joined room=call:/)
      await a.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })
      await a
        .locator(`[data-testid=remote-tile][data-username="${carol.username}"][data-connection-state=connected]`)
        .waitFor({ timeout: T })
      await answerer.waitLine(/^state .*: connected/)
      await a.getByTestId('leave-call').click()
      await answerer.waitLine(/call ended by .*: hangup/)
    } finally {
      await answerer.stop()
    }
  })
})
