import { useEffect, useRef, useState } from 'react'
import { io, type Socket } from 'socket.io-client'
import { trackSession } from '../session'

export type ConnStatus =
  | 'connecting' // first attempt in progress
  | 'connected'
  | 'reconnecting' // connection lost, socket.io-client retries on its own
  | 'unauthorized' // the server refused the token; no retry
  | 'closed' // the server ended the session; no retry

export interface ConnState {
  status: ConnStatus
  /** Readable reason for anything but `connected`. */
  error: string | null
  /** Socket id while connected (the peerId on `/webrtc`). */
  id: string | null
}

// The events-map constraint socket.io-client itself uses.
interface Events {
  [event: string]: any
}

/**
 * One Socket.IO connection to one namespace, alive while `enabled`, with its
 * connection state as React state. The cookie session authenticates it.
 */
export function useNamespaceSocket<S2C extends Events, C2S extends Events>(
  namespace: string,
  enabled: boolean,
  options: { forceNew?: boolean } = {},
): { socket: Socket<S2C, C2S> | null; state: ConnState; reconnect: () => void } {
  const [socket, setSocket] = useState<Socket<S2C, C2S> | null>(null)
  const [state, setState] = useState<ConnState>({ status: 'connecting', error: null, id: null })
  const forceNew = options.forceNew ?? false

  useEffect(() => {
    if (!enabled) return
    const s: Socket<S2C, C2S> = io(namespace, {
      withCredentials: true,
      forceNew,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
    })
    setState({ status: 'connecting', error: null, id: null })
    const onConnect = () => setState({ status: 'connected', error: null, id: s.id ?? null })
    const onDisconnect = (reason: Socket.DisconnectReason) => {
      if (reason === 'io client disconnect') return
      if (reason === 'io server disconnect') {
        setState({ status: 'closed', error: 'The server ended this session.', id: null })
      } else {
        setState({ status: 'reconnecting', error: `Connection lost (${reason}). Reconnecting…`, id: null })
      }
    }
    const onConnectError = (err: Error) => {
      const msg = err.message || 'connection failed'
      if (msg.startsWith('unauthorized')) {
        setState({ status: 'unauthorized', error: `Not signed in: ${msg}`, id: null })
      } else if (!s.active) {
        setState({ status: 'closed', error: `Connection refused: ${msg}`, id: null })
      } else {
        setState((prev) => ({
          status: prev.status === 'connecting' ? 'connecting' : 'reconnecting',
          error: `Cannot reach the server (${msg}). Retrying…`,
          id: null,
        }))
      }
    }
    // The token ran out (no refresh arrived in time): the server disconnects next.
    let expired = false
    const onExpired = () => {
      expired = true
      setState({ status: 'unauthorized', error: 'Your session has expired. Please sign in again.', id: null })
    }
    const untrack = trackSession(s)
    s.on('connect', onConnect)
    const onDisconnectUnlessExpired = (reason: Socket.DisconnectReason) => {
      if (!expired) onDisconnect(reason)
    }
    s.on('disconnect', onDisconnectUnlessExpired)
    s.on('auth:expired' as never, onExpired as never)
    s.on('connect_error', onConnectError)
    setSocket(s)
    return () => {
      untrack()
      s.off('auth:expired' as never, onExpired as never)
      s.off('connect', onConnect)
      s.off('disconnect', onDisconnectUnlessExpired)
      s.off('connect_error', onConnectError)
      s.disconnect()
      setSocket(null)
    }
  }, [namespace, enabled, forceNew])

  const reconnect = () => {
    if (socket && !socket.connected) {
      setState({ status: 'connecting', error: null, id: null })
      socket.connect()
    }
  }

  return { socket, state, reconnect }
}

/** Subscribes `handler` to `event` on `socket`; the latest handler is always used. */
export function useSocketEvent<S2C extends Events, E extends keyof S2C & string>(
  socket: Socket<S2C, any> | null,
  event: E,
  handler: S2C[E],
) {
  const ref = useRef(handler)
  ref.current = handler
  useEffect(() => {
    if (!socket) return
    const fn = ((...args: unknown[]) => (ref.current as (...a: unknown[]) => void)(...args)) as never
    socket.on(event as never, fn)
    return () => {
      socket.off(event as never, fn)
    }
  }, [socket, event])
}
