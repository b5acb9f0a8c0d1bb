import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react'
import { api, errorText } from '../api'
import { chatRoomId, type Chat, type Message, type User } from '../contract'
import type { AppSocket } from '../hooks/useAppSocket'
import { useSocketEvent } from '../hooks/socketState'
import { href, navigate } from '../router'
import { Avatar, EmptyState, Icon, formatTime } from '../components/ui'
import { chatTitle, type ChatsStore } from './useChats'

const PAGE = 50

export function ChatsPage({ socket, user, chats, chatId }: { socket: AppSocket | null; user: User; chats: ChatsStore; chatId: string | null }) {
  const [composing, setComposing] = useState(false)
  const current = chats.chats.find((c) => c.id === chatId) ?? null

  useEffect(() => {
    chats.setActive(chatId)
    return () => chats.setActive(null)
  }, [chatId, chats.setActive])

  return (
    <div className={`chats ${chatId ? 'has-current' : ''}`}>
      <aside className="chat-list card">
        <div className="chat-list-head">
          <h2>Chats</h2>
          <button className="btn primary small" onClick={() => setComposing(true)} data-testid="new-chat">
            <Icon name="plus" size={16} /> New
          </button>
        </div>
        {chats.error && <div className="alert error">{chats.error}</div>}
        {chats.loaded && chats.chats.length === 0 && (
          <EmptyState icon="chat" title="No conversations yet">
            Start one with the <b>New</b> button.
          </EmptyState>
        )}
        <ul>
          {chats.chats.map((c) => {
            const others = c.participants.filter((p) => p.id !== user.id)
            // Presence is only shown once known (presence:update, or the user just wrote or typed).
            const isOnline = others.length === 1 ? chats.online[others[0].id] : undefined
            const typing = chats.typing[c.id] ?? []
            return (
              <li key={c.id}>
                <a
                  href={href({ page: 'chats', chatId: c.id })}
                  className={`chat-item ${c.id === chatId ? 'active' : ''} ${c.unreadCount ? 'unread' : ''}`}
                  data-testid="chat-item"
                  data-chat-id={c.id}
                >
                  <Avatar name={chatTitle(c, user)} size={40} online={isOnline} />
                  <div className="chat-item-body">
                    <div className="chat-item-top">
                      <span className="chat-item-title">{chatTitle(c, user)}</span>
                      <span className="chat-item-time">{formatTime(c.lastMessage?.createdAt ?? c.createdAt)}</span>
                    </div>
                    <div className="chat-item-bottom">
                      <span className="chat-item-preview">
                        {typing.length > 0 ? (
                          <i className="accent">typing…</i>
                        ) : c.lastMessage ? (
                          `${c.lastMessage.sender.id === user.id ? 'You: ' : ''}${c.lastMessage.text}`
                        ) : (
                          <i>No messages yet</i>
                        )}
                      </span>
                      {c.unreadCount > 0 && (
                        <span className="badge" data-testid="unread-badge">
                          {c.unreadCount}
                        </span>
                      )}
                    </div>
                  </div>
                </a>
              </li>
            )
          })}
        </ul>
      </aside>
      <section className="conversation card">
        {current ? (
          <Conversation key={current.id} socket={socket} user={user} chat={current} chats={chats} />
        ) : chatId && chats.loaded ? (
          <EmptyState icon="chat" title="Chat not found">
            It may have been removed, or you are not a participant.
          </EmptyState>
        ) : (
          <EmptyState icon="chat" title="Pick a conversation">
            Messages arrive instantly; unread ones are counted on the left.
          </EmptyState>
        )}
      </section>
      {composing && (
        <NewChatDialog
          user={user}
          chats={chats.chats}
          onClose={() => setComposing(false)}
          onCreated={(c) => {
            chats.upsert(c)
            setComposing(false)
            navigate({ page: 'chats', chatId: c.id })
          }}
        />
      )}
    </div>
  )
}

function Conversation({ socket, user, chat, chats }: { socket: AppSocket | null; user: User; chat: Chat; chats: ChatsStore }) {
  const [messages, setMessages] = useState<Message[] | null>(null)
  const [hasMore, setHasMore] = useState(false)
  const [loadingMore, setLoadingMore] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [text, setText] = useState('')
  const [sending, setSending] = useState(false)
  const scroller = useRef<HTMLDivElement>(null)
  const stickToBottom = useRef(true)
  const typingSent = useRef(false)
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const chatId = chat.id

  const merge = (incoming: Message[]) =>
    setMessages((prev) => {
      const map = new Map((prev ?? []).map((m) => [m.id, m]))
      for (const m of incoming) map.set(m.id, m)
      return [...map.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    })

  // History, and the chat room, for as long as the conversation is open.
  useEffect(() => {
    let live = true
    api
      .messages(chatId, PAGE)
      .then((list) => {
        if (!live) return
        merge(list)
        setHasMore(list.length >= PAGE)
      })
      .catch((e) => live && setError(errorText(e)))
    chats.markRead(chatId)
    return () => {
      live = false
    }
  }, [chatId])

  useEffect(() => {
    if (!socket) return
    const join = () =>
      socket.emit('chat:join', { chatId }, (r) => {
        if (r && r.success === false) setError(`Cannot open this chat live: ${r.error}`)
      })
    const rejoin = () => {
      join()
      api.messages(chatId, PAGE).then(merge).catch(() => {})
    }
    if (socket.connected) join()
    // Every later (re)connect: join the room again and catch up.
    socket.on('connect', rejoin)
    return () => {
      socket.off('connect', rejoin)
      if (socket.connected) socket.emit('chat:leave', { chatId }, () => {})
    }
  }, [socket, chatId])

  useSocketEvent(socket, 'message:new', (m) => {
    if (m.chatId === chatId) merge([m])
  })

  // Coming back to the tab reads what arrived meanwhile.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible' && chat.unreadCount > 0) chats.markRead(chatId)
    }
    document.addEventListener('visibilitychange', onVisible)
    return () => document.removeEventListener('visibilitychange', onVisible)
  }, [chat.unreadCount, chatId, chats.markRead])

  // Stop "typing…" when leaving the conversation.
  useEffect(
    () => () => {
      clearTimeout(typingTimer.current)
      if (typingSent.current) socket?.emit('typing', { chatId, isTyping: false })
    },
    [socket, chatId],
  )

  useLayoutEffect(() => {
    const el = scroller.current
    if (el && stickToBottom.current) el.scrollTop = el.scrollHeight
  }, [messages])

  const loadOlder = async () => {
    if (!messages?.length) return
    setLoadingMore(true)
    const el = scroller.current
    const before = el ? el.scrollHeight - el.scrollTop : 0
    try {
      const older = await api.messages(chatId, PAGE, messages[0].id)
      stickToBottom.current = false
      merge(older)
      setHasMore(older.length >= PAGE)
      requestAnimationFrame(() => {
        if (el) el.scrollTop = el.scrollHeight - before
      })
    } catch (e) {
      setError(errorText(e))
    } finally {
      setLoadingMore(false)
    }
  }

  const setTypingState = (on: boolean) => {
    if (!socket) return
    if (on !== typingSent.current) {
      typingSent.current = on
      socket.emit('typing', { chatId, isTyping: on })
    }
  }

  const onInput = (v: string) => {
    setText(v)
    setTypingState(v.length > 0)
    clearTimeout(typingTimer.current)
    if (v.length > 0) typingTimer.current = setTimeout(() => setTypingState(false), 2500)
  }

  const send = (e: FormEvent) => {
    e.preventDefault()
    const body = text.trim()
    if (!body || !socket) return
    if (!socket.connected) {
      setError('You are offline — the message was not sent. It will be possible again once reconnected.')
      return
    }
    setSending(true)
    clearTimeout(typingTimer.current)
    setTypingState(false)
    socket.timeout(10000).emit('message:send', { chatId, text: body }, (err, r) => {
      setSending(false)
      if (err) {
        setError('The server did not confirm the message. Please try again.')
        return
      }
      if (r.success) {
        stickToBottom.current = true
        merge([r.message])
        setText('')
        setError(null)
      } else {
        setError(`Message not sent: ${r.error}`)
      }
    })
  }

  const others = chat.participants.filter((p) => p.id !== user.id)
  const typing = chats.typing[chatId] ?? []

  return (
    <>
      <header className="conv-head">
        <a className="icon-btn back" href={href({ page: 'chats', chatId: null })} aria-label="Back to chats">
          ‹
        </a>
        <Avatar name={chatTitle(chat, user)} size={38} online={others.length === 1 ? chats.online[others[0].id] : undefined} />
        <div className="conv-title">
          <h2 data-testid="conversation-title">{chatTitle(chat, user)}</h2>
          <span className="muted small">
            {chat.participants.length} participant{chat.participants.length === 1 ? '' : 's'}
            {others.some((p) => chats.online[p.id]) && ' · online'}
          </span>
        </div>
        <a className="btn small" href={href({ page: 'call', roomId: chatRoomId(chatId) })} data-testid="start-call">
          <Icon name="video" size={16} /> Call
        </a>
      </header>
      <div
        className="messages"
        ref={scroller}
        data-testid="messages"
        onScroll={(e) => {
          const el = e.currentTarget
          stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60
        }}
      >
        {hasMore && (
          <button className="btn ghost small load-more" onClick={loadOlder} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load earlier messages'}
          </button>
        )}
        {messages === null && !error && <div className="spinner center" />}
        {messages?.length === 0 && <div className="muted center-text">No messages yet. Say hello 👋</div>}
        {messages?.map((m, i) => {
          const mine = m.sender.id === user.id
          const prev = messages[i - 1]
          const grouped = prev && prev.sender.id === m.sender.id && Date.parse(m.createdAt) - Date.parse(prev.createdAt) < 5 * 60_000
          return (
            <div key={m.id} className={`msg ${mine ? 'mine' : ''} ${grouped ? 'grouped' : ''}`} data-testid="message">
              {!mine && !grouped && <div className="msg-sender">{m.sender.username}</div>}
              <div className="bubble">
                <span data-testid="message-text">{m.text}</span>
                <time dateTime={m.createdAt}>{formatTime(m.createdAt)}</time>
              </div>
            </div>
          )
        })}
      </div>
      <div className="typing-line" data-testid="typing-indicator">
        {typing.length > 0 && (
          <>
            <span className="dots">
              <i />
              <i />
              <i />
            </span>
            {typing.map((t) => t.username).join(', ')} {typing.length === 1 ? 'is' : 'are'} typing…
          </>
        )}
      </div>
      {error && (
        <div className="alert error slim" role="alert">
          {error}
        </div>
      )}
      <form className="composer" onSubmit={send}>
        <input
          name="message"
          placeholder={socket?.connected ? 'Write a message…' : 'Offline — reconnecting…'}
          value={text}
          maxLength={4000}
          onChange={(e) => onInput(e.target.value)}
          autoComplete="off"
          data-testid="message-input"
        />
        <button className="btn primary" type="submit" disabled={sending || !text.trim()} aria-label="Send" data-testid="send-message">
          <Icon name="send" size={16} />
        </button>
      </form>
    </>
  )
}

function NewChatDialog({
  user,
  chats,
  onClose,
  onCreated,
}: {
  user: User
  chats: Chat[]
  onClose: () => void
  onCreated: (c: Chat) => void
}) {
  const [query, setQuery] = useState('')
  const [results, setResults] = useState<User[]>([])
  const [picked, setPicked] = useState<User[]>([])
  const [name, setName] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  useEffect(() => {
    let live = true
    if (!query.trim()) {
      setResults([])
      return
    }
    const t = setTimeout(() => {
      api
        .searchUsers(query.trim())
        .then((list) => live && setResults(list.filter((u) => u.id !== user.id)))
        .catch((e) => live && setError(errorText(e)))
    }, 200)
    return () => {
      live = false
      clearTimeout(t)
    }
  }, [query, user.id])

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])

  const toggle = (u: User) =>
    setPicked((p) => (p.some((x) => x.id === u.id) ? p.filter((x) => x.id !== u.id) : [...p, u]))

  const create = async () => {
    if (picked.length === 0) return
    // Reuse an existing one-to-one chat.
    if (picked.length === 1 && !name.trim()) {
      const existing = chats.find(
        (c) => !c.name && c.participants.length === 2 && c.participants.some((p) => p.id === picked[0].id),
      )
      if (existing) {
        onCreated(existing)
        return
      }
    }
    setBusy(true)
    try {
      onCreated(await api.createChat({ participantIds: picked.map((u) => u.id), name: name.trim() || undefined }))
    } catch (e) {
      setError(errorText(e))
      setBusy(false)
    }
  }

  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal card" role="dialog" aria-modal="true" aria-labelledby="new-chat-title">
        <h2 id="new-chat-title">New conversation</h2>
        <label className="field search">
          <Icon name="search" size={16} />
          <input
            autoFocus
            placeholder="Search people by name or email"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            data-testid="user-search"
          />
        </label>
        {picked.length > 0 && (
          <div className="chips">
            {picked.map((u) => (
              <button key={u.id} className="chip" onClick={() => toggle(u)} title="Remove">
                {u.username} ×
              </button>
            ))}
          </div>
        )}
        <ul className="user-results">
          {results.length === 0 && <li className="muted small pad">{query ? 'Nobody found.' : 'Type to search.'}</li>}
          {results.map((u) => {
            const on = picked.some((x) => x.id === u.id)
            return (
              <li key={u.id}>
                <button className={`user-row ${on ? 'on' : ''}`} onClick={() => toggle(u)} data-testid="user-result" data-username={u.username}>
                  <Avatar name={u.username} size={32} />
                  <span className="user-row-text">
                    <b>{u.username}</b>
                    <span className="muted small">{u.email}</span>
                  </span>
                  <span className={`check ${on ? 'on' : ''}`}>{on && <Icon name="check" size={14} />}</span>
                </button>
              </li>
            )
          })}
        </ul>
        {picked.length > 1 && (
          <label className="field">
            <span>Group name (optional)</span>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Project team" />
          </label>
        )}
        {error && <div className="alert error">{error}</div>}
        <div className="modal-actions">
          <button className="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button className="btn primary" disabled={picked.length === 0 || busy} onClick={create} data-testid="create-chat">
            {picked.length > 1 ? 'Create group' : 'Start chat'}
          </button>
        </div>
      </div>
    </div>
  )
}
