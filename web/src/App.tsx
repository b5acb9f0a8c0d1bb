import { useCallback, useEffect, useState } from 'react'
import { api, ApiError } from './api'
import type { User } from './contract'
import { useAppSocket } from './hooks/useAppSocket'
import { href, useRoute } from './router'
import { AuthPage } from './pages/AuthPage'
import { TodosPage } from './pages/TodosPage'
import { ChatsPage } from './pages/ChatsPage'
import { CallPage } from './pages/CallPage'
import { useChats } from './pages/useChats'
import { ConnectionPill } from './components/ConnectionPill'
import { usePhone } from './call/usePhone'
import { PhoneOverlay } from './call/PhoneOverlay'
import { Avatar, Icon, Logo } from './components/ui'

type Session = { status: 'loading' } | { status: 'anon'; notice: string | null } | { status: 'user'; user: User }

export function App() {
  const [session, setSession] = useState<Session>({ status: 'loading' })

  useEffect(() => {
    let live = true
    api
      .me()
      .then(({ user }) => live && setSession({ status: 'user', user }))
      .catch((e) => {
        if (!live) return
        const notice = e instanceof ApiError && e.status === 401 ? null : `Could not reach the server: ${(e as Error).message}`
        setSession({ status: 'anon', notice })
      })
    return () => {
      live = false
    }
  }, [])

  if (session.status === 'loading') {
    return (
      <div className="splash">
        <Logo size={48} />
        <div className="spinner" aria-label="Loading" />
      </div>
    )
  }
  if (session.status === 'anon') {
    return <AuthPage notice={session.notice} onAuthed={(user) => setSession({ status: 'user', user })} />
  }
  return (
    <SignedIn
      user={session.user}
      onSignedOut={(notice) => setSession({ status: 'anon', notice })}
    />
  )
}

function SignedIn({ user, onSignedOut }: { user: User; onSignedOut: (notice: string | null) => void }) {
  const route = useRoute()
  const { socket, state, reconnect } = useAppSocket(true)
  const chats = useChats(socket, user)
  const phone = usePhone(true)

  // Ask for the `joined` greeting on every (re)connect.
  useEffect(() => {
    if (!socket) return
    window.__switchboard = { ...window.__switchboard, app: socket }
    const onConnect = () => {
      socket.emit('join')
    }
    socket.on('connect', onConnect)
    if (socket.connected) onConnect()
    return () => {
      socket.off('connect', onConnect)
    }
  }, [socket])

  // A refused token on the socket usually means the session has expired.
  useEffect(() => {
    if (state.status !== 'unauthorized') return
    api.me().catch((e) => {
      if (e instanceof ApiError && e.status === 401) onSignedOut('Your session has expired. Please sign in again.')
    })
  }, [state.status, onSignedOut])

  const signOut = useCallback(async () => {
    try {
      await api.logout()
    } finally {
      onSignedOut(null)
    }
  }, [onSignedOut])

  const unread = chats.chats.reduce((n, c) => n + (c.unreadCount || 0), 0)

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href={href({ page: 'todos' })}>
          <Logo size={28} />
          <span>Switchboard</span>
        </a>
        <nav className="tabs" aria-label="Main">
          <a className={route.page === 'todos' ? 'tab active' : 'tab'} href={href({ page: 'todos' })}>
            Todos
          </a>
          <a className={route.page === 'chats' ? 'tab active' : 'tab'} href={href({ page: 'chats', chatId: null })}>
            Chats
            {unread > 0 && (
              <span className="badge" data-testid="nav-unread">
                {unread}
              </span>
            )}
          </a>
          <a className={route.page === 'call' ? 'tab active' : 'tab'} href={href({ page: 'call', roomId: null })}>
            Calls
          </a>
        </nav>
        <div className="topbar-right">
          <ConnectionPill state={state} label="Live updates" onRetry={reconnect} testId="app-connection" />
          <span className="phone-status" data-testid="phone-connection" data-status={phone.state.status} title={phone.state.status === 'connected' ? 'Calls ring here' : 'Calls cannot ring here right now'}>
            <Icon name="phone" size={14} />
          </span>
          <div className="me" title={user.email}>
            <Avatar name={user.username} size={30} />
            <span className="me-name" data-testid="current-user">
              {user.username}
            </span>
          </div>
          <button className="btn ghost small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      {state.status !== 'connected' && state.error && (
        <div className={`banner ${state.status === 'reconnecting' || state.status === 'connecting' ? 'warn' : 'error'}`} role="status">
          {state.error}
          {(state.status === 'closed' || state.status === 'unauthorized') && (
            <button className="btn small" onClick={reconnect}>
              Reconnect
            </button>
          )}
        </div>
      )}
      <main className="content">
        {route.page === 'todos' && <TodosPage socket={socket} />}
        {route.page === 'chats' && <ChatsPage socket={socket} user={user} chats={chats} chatId={route.chatId} />}
        {route.page === 'call' && <CallPage user={user} roomId={route.roomId} chats={chats.chats} phone={phone} />}
      </main>
      <PhoneOverlay phone={phone} />
    </div>
  )
}
