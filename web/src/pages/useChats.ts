import { useCallback, useEffect, useRef, useState } from 'react'
import { api, errorText } from '../api'
import type { Chat, Message, User } from '../contract'
import type { AppSocket } from '../hooks/useAppSocket'
import { useSocketEvent } from '../hooks/socketState'

export interface TypingUser {
  userId: string
  username: string
  until: number
}

export interface ChatsStore {
  chats: Chat[]
  loaded: boolean
  error: string | null
  /** Known presence: true/false once the server told us (or the user just acted); absent when unknown. */
  online: Record<string, boolean>
  typing: Record<string, TypingUser[]>
  /** The chat the user is looking at; its new messages do not count as unread. */
  setActive: (chatId: string | null) => void
  upsert: (c: Chat) => void
  markRead: (chatId: string) => void
  reload: () => void
}

function byActivity(a: Chat, b: Chat): number {
  const ta = a.lastMessage?.createdAt ?? a.createdAt
  const tb = b.lastMessage?.createdAt ?? b.createdAt
  return tb.localeCompare(ta)
}

/** Chat list state for the whole app: unread counts, presence and typing. */
export function useChats(socket: AppSocket | null, me: User): ChatsStore {
  const [chats, setChats] = useState<Chat[]>([])
  const [loaded, setLoaded] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [online, setOnline] = useState<Record<string, boolean>>({})
  const [typing, setTyping] = useState<Record<string, TypingUser[]>>({})
  const active = useRef<string | null>(null)
  const current = useRef<Chat[]>(chats)
  current.current = chats

  const reload = useCallback(() => {
    api
      .chats()
      .then((list) => {
        setChats([...list].sort(byActivity))
        // The list says who was online when it was made: presence from the first render.
        setOnline((o) => {
          const next = { ...o }
          for (const c of list) for (const p of c.participants) if (p.id !== me.id) next[p.id] = p.online
          return next
        })
        setLoaded(true)
        setError(null)
      })
      .catch((e) => setError(errorText(e)))
  }, [me.id])

  useEffect(() => {
    reload()
  }, [reload])

  // On every (re)connect, who of my contacts is online now.
  useEffect(() => {
    if (!socket) return
    const ask = () =>
      socket.emit('presence:list', (r) => {
        if (!r || r.success !== true) return
        const on = new Set(r.online)
        setOnline((o) => {
          const next: Record<string, boolean> = {}
          for (const id of Object.keys(o)) next[id] = on.has(id)
          for (const id of on) next[id] = true
          return next
        })
      })
    socket.on('connect', ask)
    if (socket.connected) ask()
    return () => {
      socket.off('connect', ask)
    }
  }, [socket])

  useEffect(() => {
    if (!socket) return
    socket.io.on('reconnect', reload)
    return () => {
      socket.io.off('reconnect', reload)
    }
  }, [socket, reload])

  const upsert = useCallback((c: Chat) => {
    setChats((prev) => [c, ...prev.filter((x) => x.id !== c.id)].sort(byActivity))
  }, [])

  const markRead = useCallback((chatId: string) => {
    setChats((prev) => prev.map((c) => (c.id === chatId && c.unreadCount ? { ...c, unreadCount: 0 } : c)))
    api.markRead(chatId).catch(() => {})
  }, [])

  useSocketEvent(socket, 'chat:created', (c) => {
    upsert(c)
    setOnline((o) => {
      const next = { ...o }
      for (const p of c.participants) if (p.id !== me.id) next[p.id] = p.online
      return next
    })
  })

  useSocketEvent(socket, 'message:new', (m: Message) => {
    const known = current.current.some((c) => c.id === m.chatId)
    const viewing = active.current === m.chatId && document.visibilityState === 'visible'
    setChats((prev) => {
      const next = prev.map((c) => {
        if (c.id !== m.chatId) return c
        const mine = m.sender.id === me.id
        return {
          ...c,
          lastMessage: m,
          unreadCount: mine || viewing ? c.unreadCount : (c.unreadCount || 0) + 1,
        }
      })
      return next.sort(byActivity)
    })
    if (!known) reload()
    // Whoever just sent a message is connected.
    if (m.sender.id !== me.id) setOnline((o) => (o[m.sender.id] ? o : { ...o, [m.sender.id]: true }))
    if (viewing && m.sender.id !== me.id) api.markRead(m.chatId).catch(() => {})
    // A message ends that sender's typing.
    setTyping((t) => ({ ...t, [m.chatId]: (t[m.chatId] ?? []).filter((u) => u.userId !== m.sender.id) }))
  })

  useSocketEvent(socket, 'presence:update', ({ userId, online: on }) => setOnline((o) => ({ ...o, [userId]: on })))

  useSocketEvent(socket, 'typing', ({ chatId, userId, username, isTyping }) => {
    if (userId === me.id) return
    setOnline((o) => (o[userId] ? o : { ...o, [userId]: true }))
    setTyping((t) => {
      const others = (t[chatId] ?? []).filter((u) => u.userId !== userId)
      return { ...t, [chatId]: isTyping ? [...others, { userId, username, until: Date.now() + 6000 }] : others }
    })
  })

  // Forget typing indicators whose "stopped" event never came.
  useEffect(() => {
    const id = setInterval(() => {
      const now = Date.now()
      setTyping((t) => {
        let changed = false
        const next: Record<string, TypingUser[]> = {}
        for (const [k, v] of Object.entries(t)) {
          const kept = v.filter((u) => u.until > now)
          if (kept.length !== v.length) changed = true
          next[k] = kept
        }
        return changed ? next : t
      })
    }, 2000)
    return () => clearInterval(id)
  }, [])

  const setActive = useCallback((chatId: string | null) => {
    active.current = chatId
  }, [])

  return { chats, loaded, error, online, typing, setActive, upsert, markRead, reload }
}

export function chatTitle(c: Chat, me: User): string {
  if (c.name) return c.name
  const others = c.participants.filter((p) => p.id !== me.id)
  if (others.length === 0) return 'Just you'
  return others.map((p) => p.username).join(', ')
}
