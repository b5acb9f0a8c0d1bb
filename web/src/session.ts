import type { Socket } from 'socket.io-client'
import { api } from './api'

/**
 * Keeps a signed-in tab signed in. The server warns every socket 60 s
 * before its token expires (`auth:expiring`); the first warning triggers one
 * `POST /auth/refresh` (a new token, and a new cookie for later
 * reconnects), and every live socket of the tab gets the new token through
 * `auth:refresh`, so none is cut off at the old expiry.
 */

// Any socket of the tab, whatever its event maps.
type AnySocket = Socket<any, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const sockets = new Set<AnySocket>()
let pending: Promise<string | null> | null = null

async function refresh() {
  if (!pending) {
    pending = api
      .refresh()
      .then((r) => r.accessToken)
      .catch((e) => {
        console.warn('session refresh failed', e)
        return null
      })
      .finally(() => {
        // One refresh in flight serves every socket warned meanwhile.
        pending = null
      })
  }
  const token = await pending
  if (!token) return
  for (const s of sockets) {
    if (s.connected) s.emit('auth:refresh', { token }, () => {})
  }
}

/** Track `s` for refreshes; returns the function that stops tracking it. */
export function trackSession(s: AnySocket): () => void {
  sockets.add(s)
  const onExpiring = () => {
    void refresh()
  }
  s.on('auth:expiring', onExpiring)
  return () => {
    sockets.delete(s)
    s.off('auth:expiring', onExpiring)
  }
}
