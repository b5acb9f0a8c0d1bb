// Shared helpers for the end-to-end tests: start the real server binary,
// launch Debian's Chromium through playwright-core, keep artifacts.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const ARTIFACTS = join(WEB_DIR, 'e2e', 'artifacts')
mkdirSync(ARTIFACTS, { recursive: true })

/** Chromium flags from the project brief (loopback-only WebRTC, fake media). */
export const CHROMIUM_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-gpu',
  '--no-first-run',
]

function freeUdpPort() {
  return new Promise((res, rej) => {
    const sock = dgram.createSocket('udp4')
    sock.on('error', rej)
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address()
      sock.close(() => res(port))
    })
  })
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Starts `switchboard serve` on a free loopback port with an in-memory
 * database and a random secret, serving the production build from web/dist.
 */
export async function startServer(extraEnv = {}) {
  const bin = resolve(WEB_DIR, process.env.SWITCHBOARD_BIN ?? '../target/debug/switchboard')
  if (!existsSync(bin)) {
    throw new Error(`server binary not found at ${bin}: run 'cargo build' or set SWITCHBOARD_BIN`)
  }
  const dist = join(WEB_DIR, 'dist')
  if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist}/index.html missing: run 'npm run build' in web/`)
  const port = await freePort()
  const turnPort = await freeUdpPort()
  const url = `http://127.0.0.1:${port}`
  const env = {
    ...process.env,
    DATABASE_URL: 'sqlite::memory:',
    JWT_SECRET: randomBytes(32).toString('hex'),
    WEB_DIR: dist,
    CORS_ORIGINS: url,
    // ICE stays on loopback: no public STUN, the embedded TURN server on 127.0.0.1.
    STUN_URLS: '',
    TURN_ENABLED: 'true',
    TURN_LISTEN: `127.0.0.1:${turnPort}`,
    TURN_RELAY_IP: '127.0.0.1',
    TURN_SECRET: randomBytes(16).toString('hex'),
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    // The tests register and sign in several users from 127.0.0.1.
    AUTH_RATE_LIMIT: '100000/min',
    ...extraEnv,
  }
  const log = createWriteStream(join(ARTIFACTS, 'server.log'))
  const child = spawn(bin, ['serve', '--port', String(port), '--host', '127.0.0.1'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  let exited = null
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit) // never leave the server behind, even on a crash
  child.on('exit', (code, signal) => {
    exited = { code, signal }
    process.off('exit', killOnExit)
  })

  const deadline = Date.now() + 30_000
  for (;;) {
    if (exited) throw new Error(`server exited during start-up (${JSON.stringify(exited)}); see e2e/artifacts/server.log`)
    try {
      const r = await fetch(`${url}/health`)
      if (r.ok) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error('server did not answer /health within 30 s; see e2e/artifacts/server.log')
    }
    await sleep(100)
  }

  return {
    url,
    port,
    turnUrl: `turn:127.0.0.1:${turnPort}`,
    async stop() {
      if (exited) return
      const done = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await done
      clearTimeout(t)
    },
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  })
}

/** A new browser context (its own cookies) with console errors collected. */
export async function newContext(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const logs = []
  context.on('page', (page) => {
    page.on('console', (m) => logs.push(`[${name}] ${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => logs.push(`[${name}] pageerror: ${e.message}`))
  })
  context.logs = logs
  return context
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false })
}

export function unique(prefix) {
  return `${prefix}${randomBytes(3).toString('hex')}`
}

/** Polls `fn` in the page until it returns a truthy value. */
export async function until(page, fn, arg, timeout = 15_000) {
  const handle = await page.waitForFunction(fn, arg, { timeout, polling: 100 })
  return handle.jsonValue()
}

/** Waits until this page shows `peerName`'s video playing over a connected RTCPeerConnection. */
export async function waitRemoteVideo(page, peerName, exceptPeerId = null) {
  try {
    return await waitRemoteVideoInner(page, peerName, exceptPeerId)
  } catch (e) {
    const state = await page
      .evaluate(() =>
        [...document.querySelectorAll('[data-testid=remote-tile]')].map((t) => {
          const v = t.querySelector('video')
          return { ...t.dataset, videoWidth: v?.videoWidth, paused: v?.paused, currentTime: v?.currentTime, readyState: v?.readyState }
        }),
      )
      .catch(() => 'page gone')
    const negotiation = await page.evaluate(() => window.__switchboard?.call?.debugState()).catch(() => null)
    await screenshot(page, `failed-remote-video-${peerName}`).catch(() => {})
    throw new Error(`${e.message}\nremote tiles: ${JSON.stringify(state)}\nnegotiation: ${JSON.stringify(negotiation)}`)
  }
}

async function waitRemoteVideoInner(page, peerName, exceptPeerId) {
  const T = 20_000
  return until(
    page,
    ([name, except]) => {
      for (const tile of document.querySelectorAll('[data-testid=remote-tile]')) {
        if (tile.dataset.username !== name || tile.dataset.peerId === except) continue
        const v = tile.querySelector('video')
        if (tile.dataset.connectionState === 'connected' && v && v.videoWidth > 0 && !v.paused && v.currentTime > 0) {
          return { peerId: tile.dataset.peerId, width: v.videoWidth, height: v.videoHeight, polite: tile.dataset.polite }
        }
      }
      return null
    },
    [peerName, exceptPeerId],
    T,
  )
}

