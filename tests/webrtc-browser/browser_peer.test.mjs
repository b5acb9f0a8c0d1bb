// Chromium <-> webrtc-rs: a page in headless Debian Chromium (socket.io-client
// from the server's /socket.io.min.js, plain RTCPeerConnection) and the
// headless peer example (examples/peer.rs) join one room through the real
// `switchboard serve`, connect peer to peer and exchange data-channel
// messages both ways. Once with Chromium answering, once with Chromium offering.
//
// Run through run.sh, which puts everything in a network namespace with only
// `lo`. Prints call_setup_ms=… figures (room join to data channel open).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = resolve(HERE, '../..')
const ARTIFACTS = join(HERE, 'artifacts')
mkdirSync(ARTIFACTS, { recursive: true })
const { chromium } = createRequire(join(ROOT, 'web', 'package.json'))('playwright-core')

const SERVER_BIN = process.env.SWITCHBOARD_BIN ?? join(ROOT, 'target/debug/switchboard')
const PEER_BIN = process.env.PEER_BIN ?? join(ROOT, 'target/debug/examples/peer')

const CHROMIUM_ARGS = [
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-gpu',
  '--no-first-run',
]

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

let server
let browser
let url

before(async () => {
  for (const bin of [SERVER_BIN, PEER_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} missing: cargo build --bin switchboard --example peer`)
  }
  const port = await freePort()
  url = `http://127.0.0.1:${port}`
  const log = createWriteStream(join(ARTIFACTS, 'server.log'))
  server = spawn(SERVER_BIN, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: {
      ...process.env,
      DATABASE_URL: 'sqlite::memory:',
      JWT_SECRET: randomBytes(32).toString('hex'),
      CORS_ORIGINS: url,
      STUN_URLS: '',
      AUTH_RATE_LIMIT: '100000/min',
      RUST_LOG: process.env.RUST_LOG ?? 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout.pipe(log)
  server.stderr.pipe(log)
  const deadline = Date.now() + 30_000
  for (;;) {
    if (server.exitCode !== null) throw new Error('server exited; see artifacts/server.log')
    try {
      if ((await fetch(`${url}/health`)).ok) break
    } catch {}
    if (Date.now() > deadline) throw new Error('server not healthy within 30 s')
    await sleep(100)
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  })
})

after(async () => {
  await browser?.close()
  if (server && server.exitCode === null) {
    const done = new Promise((r) => server.once('exit', r))
    server.kill('SIGTERM')
    await done
  }
})

async function register(name) {
  const suffix = randomBytes(4).toString('hex')
  const r = await fetch(`${url}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${name}-${suffix}@example.com`, username: `${name}${suffix}`, password: 'correct horse' }),
  })
  assert.equal(r.status, 201, `register ${name}`)
  return (await r.json()).accessToken
}

/** The headless webrtc-rs peer as a child process; its stdout lines are collected. */
function startRustPeer(token, room, send, logName) {
  const lines = []
  const log = createWriteStream(join(ARTIFACTS, logName))
  const child = spawn(
    PEER_BIN,
    ['--url', url, '--room', room, '--send', send, '--loopback-only', '--duration', '60'],
    { env: { ...process.env, SWITCHBOARD_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
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
  return {
    lines,
    async waitFor(pred, what, ms = 20_000) {
      const end = Date.now() + ms
      while (!lines.some(pred)) {
        if (child.exitCode !== null) throw new Error(`peer exited (${child.exitCode}) before ${what}; see artifacts/${logName}`)
        if (Date.now() > end) throw new Error(`peer: no ${what} within ${ms} ms:\n${lines.join('\n')}`)
        await sleep(20)
      }
      return lines.find(pred)
    },
    async stop() {
      if (child.exitCode !== null) return
      const done = new Promise((r) => child.once('exit', r))
      child.kill('SIGINT')
      const t = setTimeout(() => child.kill('SIGKILL'), 5000)
      await done
      clearTimeout(t)
    },
  }
}

/** Runs in the page: a browser peer with the same behaviour as examples/peer.rs. */
async function browserPeer({ url, token, room, send }) {
  const st = { messages: [], candidates: [], opens: [], errors: [], peerId: null }
  window.__st = st
  const socket = io(`${url}/webrtc`, { auth: { token }, transports: ['websocket'] })
  await new Promise((res, rej) => {
    socket.once('connect', res)
    socket.once('connect_error', (e) => rej(new Error(`connect_error: ${e.message}`)))
  })
  const peers = new Map()
  const relay = (ev, data) =>
    socket.emit(ev, data, (ack) => {
      if (!ack || ack.success !== true) st.errors.push(`${ev}: ${JSON.stringify(ack)}`)
    })
  const wire = (id, dc, offerer, since) => {
    dc.onopen = () => {
      st.opens.push({ id, offerer, ms: performance.now() - since })
      if (send) dc.send(send)
    }
    dc.onmessage = (e) => {
      st.messages.push(String(e.data))
      if (!String(e.data).startsWith('echo:')) dc.send(`echo:${e.data}`)
    }
  }
  const peerFor = (id) => {
    let p = peers.get(id)
    if (p) return p
    const pc = new RTCPeerConnection({ iceServers: [] })
    p = { pc, pending: [], chain: Promise.resolve() }
    pc.onicecandidate = (e) => {
      if (e.candidate) st.candidates.push({ local: true, candidate: e.candidate.candidate })
      relay('ice-candidate', { to: id, candidate: e.candidate ? e.candidate.toJSON() : null })
    }
    peers.set(id, p)
    return p
  }
  // Handle each remote peer's signalling strictly in order.
  const serial = (id, fn) => {
    const p = peerFor(id)
    p.chain = p.chain.then(() => fn(p)).catch((e) => st.errors.push(String(e)))
  }
  const flush = async (p) => {
    for (const c of p.pending.splice(0)) await p.pc.addIceCandidate(c)
  }
  socket.on('offer', ({ from, sdp }) => {
    const since = performance.now()
    serial(from, async (p) => {
      p.pc.ondatachannel = (e) => wire(from, e.channel, false, since)
      await p.pc.setRemoteDescription(sdp)
      await flush(p)
      await p.pc.setLocalDescription(await p.pc.createAnswer())
      relay('answer', { to: from, sdp: p.pc.localDescription.toJSON() })
    })
  })
  socket.on('answer', ({ from, sdp }) =>
    serial(from, async (p) => {
      await p.pc.setRemoteDescription(sdp)
      await flush(p)
    }),
  )
  socket.on('ice-candidate', ({ from, candidate }) =>
    serial(from, async (p) => {
      if (!candidate || !candidate.candidate) return
      st.candidates.push({ local: false, candidate: candidate.candidate })
      if (p.pc.remoteDescription) await p.pc.addIceCandidate(candidate)
      else p.pending.push(candidate)
    }),
  )
  const since = performance.now()
  const ack = await socket.emitWithAck('room:join', { roomId: room })
  if (!ack.success) throw new Error(`room:join refused: ${JSON.stringify(ack)}`)
  st.peerId = ack.peerId
  for (const { peerId } of ack.peers) {
    serial(peerId, async (p) => {
      wire(peerId, p.pc.createDataChannel('switchboard'), true, since)
      await p.pc.setLocalDescription(await p.pc.createOffer())
      relay('offer', { to: peerId, sdp: p.pc.localDescription.toJSON() })
    })
  }
  return st.peerId
}

async function openPage(name) {
  const context = await browser.newContext()
  const page = await context.newPage()
  const consoleLines = []
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`))
  await page.goto(`${url}/health`)
  await page.addScriptTag({ url: `${url}/socket.io.min.js` })
  return { context, page, consoleLines, name }
}

const ipOf = (candidate) => candidate.split(/\s+/)[4]

function assertLoopback(cands, who) {
  assert.ok(cands.length > 0, `${who}: no candidates`)
  for (const c of cands) assert.match(ipOf(c), /^127\./, `${who}: candidate off loopback: ${c}`)
}

async function pageState(page) {
  return page.evaluate(() => window.__st)
}

async function waitPage(page, pred, what, ms = 20_000) {
  const end = Date.now() + ms
  for (;;) {
    const st = await pageState(page)
    if (pred(st)) return st
    if (Date.now() > end) throw new Error(`page: no ${what} within ${ms} ms: ${JSON.stringify(st)}`)
    await sleep(20)
  }
}

test('Chromium answers, webrtc-rs peer offers: data flows both ways', async () => {
  const room = `browser-${randomBytes(3).toString('hex')}`
  const [tb, tr] = [await register('chromium'), await register('rustpeer')]
  const tab = await openPage('chromium')
  let rust
  try {
    await tab.page.evaluate(browserPeer, { url, token: tb, room, send: 'hello from chromium' })
    rust = startRustPeer(tr, room, 'hello from rust', 'peer-offerer.log')
    await rust.waitFor((l) => l.includes(': hello from chromium'), 'message from chromium')
    await rust.waitFor((l) => l.includes(': echo:hello from rust'), 'echo from chromium')
    const st = await waitPage(
      tab.page,
      (s) => s.messages.includes('hello from rust') && s.messages.includes('echo:hello from chromium'),
      'messages from rust',
    )
    assert.deepEqual(st.errors, [])
    assert.equal(st.opens.length, 1)
    assert.equal(st.opens[0].offerer, false)
    assertLoopback(st.candidates.map((c) => c.candidate), 'chromium')
    const rustCands = rust.lines.filter((l) => l.startsWith('candidate ')).map((l) => l.slice(l.indexOf(': ') + 2))
    assertLoopback(rustCands, 'rust peer')
    const open = rust.lines.find((l) => l.includes('call_setup_ms='))
    assert.ok(open.includes('(offerer)'), open)
    console.log(`webrtc-rs offers to Chromium: call_setup_ms=${open.split('call_setup_ms=')[1]}`)
  } catch (e) {
    console.log(tab.consoleLines.join('\n'))
    throw e
  } finally {
    await rust?.stop()
    await tab.context.close()
  }
})

test('webrtc-rs peer answers, Chromium offers: data flows both ways', async () => {
  const room = `browser-${randomBytes(3).toString('hex')}`
  const [tb, tr] = [await register('chromium'), await register('rustpeer')]
  const rust = startRustPeer(tr, room, 'hello from rust', 'peer-answerer.log')
  const tab = await openPage('chromium')
  try {
    await rust.waitFor((l) => l.startsWith('joined room='), 'room join')
    await tab.page.evaluate(browserPeer, { url, token: tb, room, send: 'hello from chromium' })
    const st = await waitPage(
      tab.page,
      (s) => s.messages.includes('hello from rust') && s.messages.includes('echo:hello from chromium'),
      'messages from rust',
    )
    await rust.waitFor((l) => l.includes(': hello from chromium'), 'message from chromium')
    await rust.waitFor((l) => l.includes(': echo:hello from rust'), 'echo from chromium')
    assert.deepEqual(st.errors, [])
    assert.equal(st.opens.length, 1)
    assert.equal(st.opens[0].offerer, true)
    assertLoopback(st.candidates.map((c) => c.candidate), 'chromium')
    const open = rust.lines.find((l) => l.includes('call_setup_ms='))
    assert.ok(open.includes('(answerer)'), open)
    console.log(`Chromium offers to webrtc-rs: call_setup_ms=${st.opens[0].ms.toFixed(1)}`)
  } catch (e) {
    console.log(tab.consoleLines.join('\n'))
    throw e
  } finally {
    await rust.stop()
    await tab.context.close()
  }
})
