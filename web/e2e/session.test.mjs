// End-to-end: a tab kept open past its token's lifetime stays signed in.
// The server runs with TOKEN_TTL=62s, so it warns every socket
// (`auth:expiring`) two seconds in; the client refreshes the session
// (POST /auth/refresh, then `auth:refresh` on every socket) and nothing is
// cut off at the first token's expiry.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { launchBrowser, newContext, startServer, unique } from './harness.mjs'

const T = 20_000
let server, browser, ctx

before(async () => {
  server = await startServer({ TOKEN_TTL: '62s' })
  browser = await launchBrowser()
  ctx = await newContext(browser, 'keeper')
})

after(async () => {
  const interesting = (ctx?.logs ?? []).filter((l) => !l.includes('401 (Unauthorized)'))
  if (interesting.length) console.log(interesting.slice(-20).join('\n'))
  await browser?.close()
  await server?.stop()
})

test('a tab open past the token lifetime is refreshed, never cut off', { timeout: 120_000 }, async () => {
  const page = await ctx.newPage()
  await page.goto(server.url)
  await page.getByTestId('switch-register').click()
  const name = unique('keeper_')
  await page.fill('input[name=email]', `${name}@example.com`)
  await page.fill('input[name=username]', name)
  await page.fill('input[name=password]', 'correct-horse-battery')
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/auth/refresh') && r.status() === 200, { timeout: T })
  await page.getByTestId('auth-submit').click()
  await page.locator('[data-testid=app-connection][data-status=connected]').waitFor({ timeout: T })
  const signedInAt = Date.now()
  await refreshed
  console.log(`refreshed ${((Date.now() - signedInAt) / 1000).toFixed(1)} s after sign-in`)
  // Past the first token's expiry (62 s), with a margin.
  await page.waitForTimeout(Math.max(0, 66_000 - (Date.now() - signedInAt)))
  for (const id of ['app-connection', 'phone-connection']) {
    assert.equal(await page.getByTestId(id).getAttribute('data-status'), 'connected', id)
  }
  assert.equal(await page.getByText('Your session has expired').count(), 0)
  // The session still works end to end: a todo round trip.
  const me = await page.evaluate(async () => (await fetch('/auth/me')).status)
  assert.equal(me, 200)
})
