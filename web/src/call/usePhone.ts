import { useCallback, useEffect, useRef, useState } from 'react'
import type {
  Ack,
  AnsweredElsewhere,
  CallAccepted,
  CallAcceptOk,
  CallCancelled,
  CallEnded,
  CallIncoming,
  CallInviteOk,
  CallKind,
  CallRejected,
  CallTimedOut,
  MessageSender,
} from '../contract'
import { useSignalling, type SignallingSocket } from '../hooks/useSignalling'
import type { ConnState } from '../hooks/socketState'
import { navigate } from '../router'

/**
 * The tab's phone: a `/webrtc` connection kept open while signed in, so
 * every open tab is a device that rings (`call:incoming`), plus the state of
 * this tab's invitations.
 *
 * - Incoming calls ring until accepted or declined here, answered on
 *   another device (`call:answered-elsewhere`), cancelled by the caller or
 *   timed out (`call:cancelled`).
 * - An outgoing call rings until someone accepts (then the tab opens the
 *   call's room `call:<id>`), everyone declines or the ringing times out.
 * - In a call, `call:ended` says who left; the tab leaves too once nobody
 *   else is in the room. Leaving the room hangs up (`call:hangup`).
 *
 * The video call itself is the room's existing perfect-negotiation
 * session (CallSession), on a signalling connection of its own.
 */

export type OutgoingStatus = 'placing' | 'ringing' | 'declined' | 'busy' | 'timeout' | 'unavailable' | 'error'

export interface Outgoing {
  callId: string | null
  kind: CallKind
  to: MessageSender[]
  status: OutgoingStatus
  /** Readable state for the caller's ringing screen. */
  detail: string
  busy: string[]
  offline: string[]
  /** Invitees still ringing. */
  pending: string[]
}

export interface ActiveCall {
  callId: string
  roomId: string
  /** Whom the call is with (for titles). */
  with: string
}

export interface Notice {
  id: number
  text: string
  kind: 'info' | 'missed' | 'error'
}

export interface Phone {
  socket: SignallingSocket | null
  state: ConnState
  incoming: CallIncoming[]
  outgoing: Outgoing | null
  active: ActiveCall | null
  notices: Notice[]
  call: (to: MessageSender[], kind: CallKind) => void
  accept: (callId: string) => void
  decline: (callId: string) => void
  cancel: () => void
  dismissOutgoing: () => void
  hangup: (callId: string) => void
  dismiss: (id: number) => void
  /** The call room reports how many others are in it. */
  roomPeers: (roomId: string, n: number) => void
}

const names = (users: MessageSender[], ids: string[]) =>
  users
    .filter((u) => ids.includes(u.id))
    .map((u) => u.username)
    .join(', ')

const INVITE_ERRORS: Record<string, string> = {
  busy: 'You are already in a call.',
  unavailable: 'Nobody can take the call right now: busy or offline.',
  self_call: 'You cannot call yourself.',
}

let nextNotice = 1

export function usePhone(enabled: boolean): Phone {
  const { socket, state } = useSignalling(enabled)
  const [incoming, setIncomingState] = useState<CallIncoming[]>([])
  const [outgoing, setOutgoingState] = useState<Outgoing | null>(null)
  const [active, setActiveState] = useState<ActiveCall | null>(null)
  const [notices, setNotices] = useState<Notice[]>([])
  // Event handlers read these refs, which change together with the state and
  // at once: an answer may arrive before React has rendered the invite's ack.
  const outgoingRef = useRef<Outgoing | null>(null)
  const activeRef = useRef<ActiveCall | null>(null)
  const incomingRef = useRef<CallIncoming[]>([])
  const setOutgoing = useCallback((next: Outgoing | null | ((o: Outgoing | null) => Outgoing | null)) => {
    outgoingRef.current = typeof next === 'function' ? next(outgoingRef.current) : next
    setOutgoingState(outgoingRef.current)
  }, [])
  const setActive = useCallback((next: ActiveCall | null) => {
    activeRef.current = next
    setActiveState(next)
  }, [])
  const setIncoming = useCallback((fn: (list: CallIncoming[]) => CallIncoming[]) => {
    incomingRef.current = fn(incomingRef.current)
    setIncomingState(incomingRef.current)
  }, [])
  const peersRef = useRef<Map<string, number>>(new Map())

  const notify = useCallback((text: string, kind: Notice['kind'] = 'info') => {
    const id = nextNotice++
    setNotices((n) => [...n.slice(-3), { id, text, kind }])
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), 8000)
  }, [])

  const enter = useCallback(
    (call: ActiveCall) => {
      setActive(call)
      navigate({ page: 'call', roomId: call.roomId })
    },
    [setActive],
  )

  const leaveLocally = useCallback((callId: string, why: string) => {
    if (activeRef.current?.callId !== callId) return
    setActive(null)
    notify(why)
    navigate({ page: 'call', roomId: null })
  }, [notify, setActive])

  useEffect(() => {
    if (!socket) return
    window.__switchboard = { ...window.__switchboard, phone: socket }
    const stopRinging = (callId: string) => {
      const ring = incomingRef.current.find((c) => c.callId === callId)
      setIncoming((list) => list.filter((c) => c.callId !== callId))
      return ring
    }
    const onIncoming = (c: CallIncoming) => {
      setIncoming((list) => (list.some((x) => x.callId === c.callId) ? list : [...list, c]))
    }
    const onCancelled = (c: CallCancelled) => {
      const ring = stopRinging(c.callId)
      if (!ring) return
      const who = ring.from.username
      notify(c.reason === 'timeout' ? `Missed call from ${who}` : `${who} ended the call before you answered`, 'missed')
    }
    const onElsewhere = (c: AnsweredElsewhere) => {
      if (stopRinging(c.callId)) notify('Answered on another device')
    }
    const onAccepted = (c: CallAccepted) => {
      const out = outgoingRef.current
      if (activeRef.current?.callId === c.callId) {
        notify(`${c.by.username} joined the call`)
        return
      }
      if (!out || out.callId !== c.callId) return
      setOutgoing(null)
      enter({ callId: c.callId, roomId: `call:${c.callId}`, with: out.to.map((u) => u.username).join(', ') })
    }
    const settle = (callId: string, userId: string, status: OutgoingStatus, what: string) => {
      setOutgoing((out) => {
        if (!out || out.callId !== callId) {
          if (activeRef.current?.callId === callId) notify(what)
          return out
        }
        const pending = out.pending.filter((id) => id !== userId)
        if (pending.length > 0) return { ...out, pending, detail: `${what}. Still ringing ${names(out.to, pending)}…` }
        return { ...out, pending, status, detail: what }
      })
    }
    const onRejected = (c: CallRejected) =>
      settle(c.callId, c.by.id, c.reason === 'busy' ? 'busy' : 'declined', c.reason === 'busy' ? `${c.by.username} is busy` : `${c.by.username} declined`)
    const onTimeout = (c: CallTimedOut) => {
      const who = outgoingRef.current?.to.find((u) => u.id === c.userId)?.username ?? 'them'
      settle(c.callId, c.userId, 'timeout', `No answer from ${who}`)
    }
    const onEnded = (c: CallEnded) => {
      if (activeRef.current?.callId !== c.callId) return
      const what = c.reason === 'disconnected' ? `${c.by.username} lost the connection` : `${c.by.username} left the call`
      notify(what)
      // The call is over once nobody else remains in its room.
      setTimeout(() => {
        const call = activeRef.current
        if (call?.callId === c.callId && (peersRef.current.get(call.roomId) ?? 0) === 0) leaveLocally(c.callId, 'Call ended')
      }, 1500)
    }
    socket.on('call:incoming', onIncoming)
    socket.on('call:cancelled', onCancelled)
    socket.on('call:answered-elsewhere', onElsewhere)
    socket.on('call:accepted', onAccepted)
    socket.on('call:rejected', onRejected)
    socket.on('call:timeout', onTimeout)
    socket.on('call:ended', onEnded)
    return () => {
      socket.off('call:incoming', onIncoming)
      socket.off('call:cancelled', onCancelled)
      socket.off('call:answered-elsewhere', onElsewhere)
      socket.off('call:accepted', onAccepted)
      socket.off('call:rejected', onRejected)
      socket.off('call:timeout', onTimeout)
      socket.off('call:ended', onEnded)
    }
  }, [socket, notify, enter, leaveLocally, setIncoming, setOutgoing])

  const call = useCallback(
    (to: MessageSender[], kind: CallKind) => {
      if (!socket) return
      const placing: Outgoing = { callId: null, kind, to, status: 'placing', detail: `Calling ${to.map((u) => u.username).join(', ')}…`, busy: [], offline: [], pending: to.map((u) => u.id) }
      setOutgoing(placing)
      socket.emit('call:invite', { to: to.map((u) => u.id), kind }, (r: Ack<CallInviteOk>) => {
        if (!r || r.success !== true) {
          const code = r && 'error' in r ? r.error : 'no_answer'
          if (outgoingRef.current !== placing) return
          setOutgoing({ ...placing, status: code === 'unavailable' ? 'unavailable' : 'error', detail: INVITE_ERRORS[code] ?? `The call failed (${code}).` })
          return
        }
        if (outgoingRef.current !== placing) {
          // Cancelled (or replaced) while the invitation was being placed.
          socket.emit('call:cancel', { callId: r.callId }, () => {})
          return
        }
        const skipped = [
          r.busy.length ? `${names(to, r.busy)} busy` : '',
          r.offline.length ? `${names(to, r.offline)} offline` : '',
        ].filter(Boolean)
        const ringing = `Ringing ${names(to, r.invited)}…`
        setOutgoing({ ...placing, callId: r.callId, status: 'ringing', busy: r.busy, offline: r.offline, pending: r.invited, detail: skipped.length ? `${ringing} (${skipped.join(', ')})` : ringing })
      })
    },
    [socket, setOutgoing],
  )

  const accept = useCallback(
    (callId: string) => {
      if (!socket) return
      const ring = incomingRef.current.find((c) => c.callId === callId)
      socket.emit('call:accept', { callId }, (r: Ack<CallAcceptOk>) => {
        setIncoming((list) => list.filter((c) => c.callId !== callId))
        if (!r || r.success !== true) {
          const code = r && 'error' in r ? r.error : 'no_answer'
          notify(code === 'already_answered' ? 'Answered on another device' : `The call is no longer available (${code})`, 'error')
          return
        }
        enter({ callId, roomId: r.roomId, with: ring?.from.username ?? '' })
      })
    },
    [socket, notify, enter, setIncoming],
  )

  const decline = useCallback(
    (callId: string) => {
      setIncoming((list) => list.filter((c) => c.callId !== callId))
      socket?.emit('call:reject', { callId, reason: 'declined' }, () => {})
    },
    [socket, setIncoming],
  )

  const cancel = useCallback(() => {
    const out = outgoingRef.current
    setOutgoing(null)
    if (out?.callId && out.status === 'ringing') socket?.emit('call:cancel', { callId: out.callId }, () => {})
  }, [socket, setOutgoing])

  const dismissOutgoing = useCallback(() => setOutgoing(null), [setOutgoing])

  const hangup = useCallback(
    (callId: string) => {
      if (activeRef.current?.callId === callId) setActive(null)
      socket?.emit('call:hangup', { callId }, () => {})
    },
    [socket, setActive],
  )

  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), [])
  const roomPeers = useCallback((roomId: string, n: number) => {
    peersRef.current.set(roomId, n)
  }, [])

  return { socket, state, incoming, outgoing, active, notices, call, accept, decline, cancel, dismissOutgoing, hangup, dismiss, roomPeers }
}
