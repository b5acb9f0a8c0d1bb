// End-to-end: the production build served by the real `switchboard` binary,
// driven in headless Chromium. Two users, each in a separate browser context
// (separate cookie jars). Steps run in order and build on each other.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { launchBrowser, newContext, screenshot, startServer, unique, until, waitRemoteVideo } from './harness.mjs'

const PASSWORD = 'correct-horse-battery'
const T = 20_000

/** Fills and submits the sign-up form; resolves once the app shows the user. */
async function register(page, url, user) {
  await page.goto(url)
  await page.getByTestId('switch-register').click()
  await page.fill('input[name=email]', user.email)
  await page.fill('input[name=username]', user.username)
  await page.fill('input[name=password]', PASSWORD)
  await page.getByTestId('auth-submit').click()
  await page.getByTestId('current-user').filter({ hasText: user.username }).waitFor({ timeout: T })
}

async function waitConnected(page, testId = 'app-connection') {
  await page.locator(`[data-testid=${testId}][data-status=connected]`).waitFor({ timeout: T })
}

describe('Switchboard web client', { timeout: 300_000 }, () => {
  let server, browser, ctxA, ctxB, ctxC, ctxD, a1, a2, b1, c1
  const alice = { email: `${unique('alice')}@example.com`, username: unique('alice_') }
  const bob = { email: `${unique('bob')}@example.com`, username: unique('bob_') }
  const carol = { email: `${unique('carol')}@example.com`, username: unique('carol_') }
  const room = unique('e2e-room-')
  const firstTodo = `Buy oat milk ${unique('#')}`

  before(async () => {
    server = await startServer({ ROOM_MAX_PEERS: '3' })
    browser = await launchBrowser()
    ctxA = await newContext(browser, 'alice')
    ctxB = await newContext(browser, 'bob')
    ctxC = await newContext(browser, 'carol')
    ctxD = await newContext(browser, 'dave')
  })

  after(async () => {
    for (const ctx of [ctxA, ctxB, ctxC, ctxD]) {
      const interesting = (ctx?.logs ?? []).filter((l) => !l.includes('401 (Unauthorized)'))
      if (interesting.length) console.log(interesting.slice(-40).join('\n'))
    }
    await browser?.close()
    await server?.stop()
  })

  test('sign-up rejects bad input, creates the account, and the cookie session survives a reload', async () => {
    a1 = await ctxA.newPage()
    await a1.goto(server.url)
    await a1.getByTestId('switch-register').click()
    await a1.fill('input[name=email]', alice.email)
    await a1.fill('input[name=username]', alice.username)
    await a1.fill('input[name=password]', 'short')
    await a1.getByTestId('auth-submit').click()
    const err = await a1.getByTestId('auth-error').textContent({ timeout: T })
    assert.match(err, /at least 8 characters/)
    await screenshot(a1, '01-signup-error')

    await a1.fill('input[name=password]', PASSWORD)
    await a1.getByTestId('auth-submit').click()
    await a1.getByTestId('current-user').filter({ hasText: alice.username }).waitFor({ timeout: T })
    await waitConnected(a1)

    await a1.reload()
    await a1.getByTestId('current-user').filter({ hasText: alice.username }).waitFor({ timeout: T })
    await waitConnected(a1)
    await screenshot(a1, '02-todos-empty')
  })

  test("a todo created in one tab appears live in the same user's second tab", async () => {
    a2 = await ctxA.newPage()
    await a2.goto(`${server.url}/#/todos`)
    await a2.getByTestId('current-user').filter({ hasText: alice.username }).waitFor({ timeout: T })
    await waitConnected(a2)

    const title = firstTodo
    await a1.getByTestId('new-todo-title').fill(title)
    await a1.getByTestId('add-todo').click()
    const inA2 = a2.locator('[data-testid=todo-item]', { hasText: title })
    await inA2.waitFor({ timeout: T })
    await screenshot(a2, '03-todo-second-tab')

    // Completing it in the second tab crosses it out in the first.
    await inA2.getByTestId('todo-toggle').click()
    await a1.locator('[data-testid=todo-item].done', { hasText: title }).waitFor({ timeout: T })

    // A second task, deleted in the first tab, disappears from the second.
    const gone = `Throw away ${unique('#')}`
    await a1.getByTestId('new-todo-title').fill(gone)
    await a1.getByTestId('add-todo').click()
    await a2.locator('[data-testid=todo-item]', { hasText: gone }).waitFor({ timeout: T })
    await a1.locator('[data-testid=todo-item]', { hasText: gone }).getByLabel('Delete task').click()
    await a2.locator('[data-testid=todo-item]', { hasText: gone }).waitFor({ state: 'detached', timeout: T })
    assert.equal(await a2.locator('[data-testid=todo-item]').count(), 1)
    await screenshot(a1, '04-todos')
  })

  test('two users chat: unread badge, typing indicator, presence and messages both ways', async () => {
    b1 = await ctxB.newPage()
    await register(b1, server.url, bob)
    await waitConnected(b1)

    // Alice starts a chat with Bob, picked through the user search.
    await a1.goto(`${server.url}/#/chats`)
    await a1.getByTestId('new-chat').click()
    await a1.getByTestId('user-search').fill(bob.username.slice(0, 8))
    await a1.locator(`[data-testid=user-result][data-username="${bob.username}"]`).click({ timeout: T })
    await a1.getByTestId('create-chat').click()
    await a1.getByTestId('conversation-title').filter({ hasText: bob.username }).waitFor({ timeout: T })

    const hello = `Hello Bob ${unique('#')}`
    await a1.getByTestId('message-input').fill(hello)
    await a1.getByTestId('send-message').click()
    await a1.locator('[data-testid=message-text]', { hasText: hello }).waitFor({ timeout: T })

    // Bob, on another page, sees an unread badge.
    const badge = await b1.getByTestId('nav-unread').textContent({ timeout: T })
    assert.equal(badge.trim(), '1')
    await b1.goto(`${server.url}/#/chats`)
    const item = b1.locator('[data-testid=chat-item]', { hasText: alice.username })
    assert.equal((await item.getByTestId('unread-badge').textContent({ timeout: T })).trim(), '1')
    await screenshot(b1, '05-chat-unread')

    await item.click()
    await b1.locator('[data-testid=message-text]', { hasText: hello }).waitFor({ timeout: T })
    await item.getByTestId('unread-badge').waitFor({ state: 'detached', timeout: T })

    // Bob types: Alice sees it; Bob answers: Alice gets the message.
    await b1.getByTestId('message-input').pressSequentially('Hi Al', { delay: 30 })
    await a1.getByTestId('typing-indicator').filter({ hasText: `${bob.username} is typing` }).waitFor({ timeout: T })
    const reply = `Hi Alice ${unique('#')}`
    await b1.getByTestId('message-input').fill(reply)
    await b1.getByTestId('send-message').click()
    await a1.locator('[data-testid=message-text]', { hasText: reply }).waitFor({ timeout: T })
    await screenshot(a1, '06-chat-alice')
    await screenshot(b1, '07-chat-bob')

    // Presence: Bob closing his only page shows him offline to Alice, coming back online.
    await a1.locator('.conv-head .presence.on').waitFor({ timeout: T })
    await b1.close()
    await a1.locator('.conv-head .presence:not(.on)').waitFor({ timeout: T })
    b1 = await ctxB.newPage()
    // History survives (GET /chats/:id/messages).
    await b1.goto(`${server.url}/#/chats`)
    await b1.locator('[data-testid=chat-item]', { hasText: alice.username }).click({ timeout: T })
    await b1.locator('[data-testid=message-text]', { hasText: hello }).waitFor({ timeout: T })
    await b1.locator('[data-testid=message-text]', { hasText: reply }).waitFor({ timeout: T })
    await a1.locator('.conv-head .presence.on').waitFor({ timeout: T })
  })

  test('long history is paged: the newest 50 first, older ones on demand', async () => {
    const chatId = await b1.locator('[data-testid=chat-item]', { hasText: alice.username }).getAttribute('data-chat-id')
    const acks = await a1.evaluate(async (chatId) => {
      const s = window.__switchboard.app
      const out = []
      for (let i = 1; i <= 55; i++) out.push(await s.timeout(5000).emitWithAck('message:send', { chatId, text: `bulk ${i}` }))
      return out.map((r) => r.success)
    }, chatId)
    assert.equal(acks.filter(Boolean).length, 55)
    await b1.locator('[data-testid=message-text]', { hasText: 'bulk 55' }).waitFor({ timeout: T })

    await b1.reload()
    await b1.locator('[data-testid=message-text]', { hasText: 'bulk 55' }).waitFor({ timeout: T })
    assert.equal(await b1.getByTestId('message').count(), 50)
    assert.equal(await b1.getByTestId('message-text').first().textContent(), 'bulk 6')
    await b1.getByRole('button', { name: 'Load earlier messages' }).click()
    await b1.locator('[data-testid=message-text]', { hasText: 'Hello Bob' }).waitFor({ timeout: T })
    assert.equal(await b1.getByTestId('message').count(), 57)
    await b1.getByRole('button', { name: 'Load earlier messages' }).waitFor({ state: 'detached', timeout: T })
  })

  test("both users join a call and each sees the other's remote video playing", async () => {
    await a2.close()
    await a1.goto(`${server.url}/#/call/${room}`)
    await a1.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })
    await b1.goto(`${server.url}/#/call`)
    await b1.getByTestId('room-input').fill(room)
    await b1.getByTestId('join-room').click()
    await b1.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })

    const seenByA = await waitRemoteVideo(a1, bob.username)
    const seenByB = await waitRemoteVideo(b1, alice.username)
    assert.ok(seenByA.width > 0 && seenByB.width > 0)
    // Exactly one side of the pair is polite.
    assert.notEqual(seenByA.polite, seenByB.polite)
    // Each sees the other's peer id, the one the other got in its join ack.
    assert.equal(seenByA.peerId, await b1.getByTestId('call').getAttribute('data-peer-id'))
    assert.equal(seenByB.peerId, await a1.getByTestId('call').getAttribute('data-peer-id'))
    await b1.locator(`[data-testid=roster-peer][data-username="${alice.username}"]`).waitFor({ timeout: T })

    // The peer connections use the ICE servers from the join ack: the server's TURN with credentials.
    const ice = await a1.evaluate(() => window.__switchboard.call.iceServersInUse())
    assert.equal(ice.length, 1)
    const turn = ice[0].find((s) => [].concat(s.urls).some((u) => u.startsWith(server.turnUrl)))
    assert.ok(turn, `no ${server.turnUrl} in ${JSON.stringify(ice)}`)
    assert.match(turn.username, /^\d+:/)
    assert.ok(turn.credential)

    // Camera off shows the avatar instead of the local video.
    await a1.getByTestId('toggle-cam').click()
    assert.equal(await a1.getByTestId('toggle-cam').getAttribute('aria-pressed'), 'true')
    await a1.locator('[data-testid=local-tile] .tile-placeholder').waitFor({ timeout: T })
    await a1.getByTestId('toggle-cam').click()
    await a1.locator('[data-testid=local-tile] .tile-placeholder').waitFor({ state: 'detached', timeout: T })
    await a1.waitForTimeout(500) // let the re-enabled camera paint a frame for the screenshot

    await screenshot(a1, '08-call-alice')
    await screenshot(b1, '09-call-bob')
  })

  test('a third user joins: a three-way mesh where everyone sees both others', async () => {
    c1 = await ctxC.newPage()
    await register(c1, server.url, carol)
    await c1.goto(`${server.url}/#/call/${room}`)
    await c1.locator('[data-testid=call][data-phase=joined]').waitFor({ timeout: T })
    await waitRemoteVideo(c1, alice.username)
    await waitRemoteVideo(c1, bob.username)
    await waitRemoteVideo(a1, carol.username)
    await waitRemoteVideo(b1, carol.username)
    for (const p of [a1, b1, c1]) assert.equal(await p.locator('[data-testid=remote-tile]').count(), 2)
    assert.equal((await c1.getByTestId('roster-count').textContent()).trim(), '3 in call')
    await screenshot(c1, '10-call-three')
  })

  test('a fourth person is told the room is full (room_full)', async () => {
    const d1 = await ctxD.newPage()
    await register(d1, server.url, { email: `${unique('dave')}@example.com`, username: unique('dave_') })
    await d1.goto(`${server.url}/#/call/${room}`)
    const text = await d1.getByTestId('call-error').textContent({ timeout: T })
    assert.match(text, /room is full/i)
    assert.match(text, /room_full/)
    await screenshot(d1, '11-room-full')
    await d1.close()
    // Nobody in the call saw a fourth peer.
    for (const p of [a1, b1, c1]) assert.equal(await p.locator('[data-testid=remote-tile]').count(), 2)
  })

  test('the call survives the signalling connection dropping: the slot is resumed, the same connections keep the media flowing', async () => {
    const oldA = await a1.getByTestId('call').getAttribute('data-peer-id')
    const linkOf = (page) =>
      page.evaluate(async (old) => (await window.__switchboard.call.mediaStats()).find((m) => m.peerId === old), oldA)
    const before = { b: await linkOf(b1), c: await linkOf(c1) }
    assert.ok(before.b && before.c, `both see Alice: ${JSON.stringify(before)}`)
    const aLinks = await a1.evaluate(() => window.__switchboard.call.debugState().map((d) => d.linkId).sort())
    const dropped = Date.now()
    await a1.evaluate(() => window.__switchboard.signalling.io.engine.close())
    const newA = await until(
      a1,
      (old) => {
        const el = document.querySelector('[data-testid=call][data-phase=joined]')
        return el && el.dataset.peerId && el.dataset.peerId !== old ? el.dataset.peerId : null
      },
      oldA,
    )
    const resumedAfter = Date.now() - dropped
    assert.notEqual(newA, oldA)
    for (const [page, was] of [
      [b1, before.b],
      [c1, before.c],
    ]) {
      // The others re-key the same connection to Alice's new peer id, and
      // frames keep arriving on it.
      await page.locator(`[data-testid=remote-tile][data-peer-id="${newA}"][data-away=false]`).waitFor({ timeout: T })
      let grown = null
      for (const deadline = Date.now() + T; !grown && Date.now() < deadline; await page.waitForTimeout(100)) {
        const m = await page.evaluate(async (id) => (await window.__switchboard.call.mediaStats()).find((x) => x.peerId === id), newA)
        if (m && m.framesDecoded > was.framesDecoded + 30) grown = m
      }
      assert.ok(grown, `frames from Alice's new peer id keep coming (before: ${JSON.stringify(was)})`)
      assert.equal(grown.linkId, was.linkId, 'the same RTCPeerConnection')
      assert.equal(await page.locator(`[data-testid=remote-tile][data-peer-id="${oldA}"]`).count(), 0)
      assert.equal(await page.locator('[data-testid=remote-tile]').count(), 2)
    }
    // Alice kept her connections too.
    assert.deepEqual(await a1.evaluate(() => window.__switchboard.call.debugState().map((d) => d.linkId).sort()), aLinks)
    await waitRemoteVideo(a1, bob.username)
    await waitRemoteVideo(a1, carol.username)
    console.log(`# resume: signalling socket dropped -> slot resumed in ${resumedAfter} ms (media never stopped)`)
    await screenshot(b1, '12-call-after-reconnect')
    // Carol hangs up: the others see her leave.
    await c1.getByTestId('leave-call').click()
    for (const p of [a1, b1]) {
      await p.locator(`[data-testid=remote-tile][data-username="${carol.username}"]`).waitFor({ state: 'detached', timeout: T })
    }
  })

  test('a refused token on reconnect shows the error and returns to sign-in', async () => {
    await a1.goto(`${server.url}/#/todos`)
    await waitConnected(a1)
    await ctxA.addCookies([{ name: 'access_token', value: 'not-a-jwt', url: server.url, httpOnly: true }])
    await a1.evaluate(() => window.__switchboard.app.io.engine.close())
    const notice = a1.locator('.alert.warn', { hasText: 'session has expired' })
    await notice.waitFor({ timeout: T })
    await a1.getByTestId('auth-submit').waitFor({ timeout: T })
    await screenshot(a1, '13-session-expired')

    // Signing in again works and brings the todos back.
    await a1.fill('input[name=email]', alice.email)
    await a1.fill('input[name=password]', PASSWORD)
    await a1.getByTestId('auth-submit').click()
    await waitConnected(a1)
    await a1.locator('[data-testid=todo-item]', { hasText: firstTodo }).waitFor({ timeout: T })
    assert.equal(await a1.locator('[data-testid=todo-item]').count(), 1)

    // Signing out clears the cookie: a reload stays on the sign-in page.
    await a1.getByRole('button', { name: 'Sign out' }).click()
    await a1.getByTestId('auth-submit').waitFor({ timeout: T })
    await a1.reload()
    await a1.getByTestId('auth-submit').waitFor({ timeout: T })
    await a1.fill('input[name=email]', alice.email)
    await a1.fill('input[name=password]', PASSWORD)
    await a1.getByTestId('auth-submit').click()
    await waitConnected(a1)
  })

  test('a lost connection is shown while the client keeps retrying', async () => {
    await waitConnected(b1, 'signalling-connection')
    await server.stop()
    await a1.locator('[data-testid=app-connection][data-status=reconnecting]').waitFor({ timeout: T })
    const banner = await a1.locator('.banner').textContent({ timeout: T })
    assert.match(banner, /Connection lost|Cannot reach the server/)
    await b1.locator('[data-testid=signalling-connection][data-status=reconnecting]').waitFor({ timeout: T })
    await screenshot(a1, '14-connection-lost')
  })
})
