import { useState, type FormEvent } from 'react'
import { api, errorText } from '../api'
import type { User } from '../contract'
import { Icon, Logo } from '../components/ui'

type Mode = 'login' | 'register'

export function AuthPage({ notice, onAuthed }: { notice: string | null; onAuthed: (u: User) => void }) {
  const [mode, setMode] = useState<Mode>('login')
  const [email, setEmail] = useState('')
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const validate = (): string | null => {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return 'Enter a valid email address.'
    if (mode === 'register') {
      const n = username.trim().length
      if (n < 3 || n > 32) return 'Username must be 3 to 32 characters.'
      if (password.length < 8) return 'Password must be at least 8 characters.'
    } else if (!password) return 'Enter your password.'
    return null
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const invalid = validate()
    if (invalid) {
      setError(invalid)
      return
    }
    setBusy(true)
    setError(null)
    try {
      const res =
        mode === 'register'
          ? await api.register(email.trim(), username.trim(), password)
          : await api.login(email.trim(), password)
      onAuthed(res.user)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const switchMode = (m: Mode) => {
    setMode(m)
    setError(null)
  }

  return (
    <div className="auth">
      <section className="auth-hero">
        <div className="auth-brand">
          <Logo size={40} />
          <span>Switchboard</span>
        </div>
        <h1>Your tasks, conversations and calls — live.</h1>
        <ul className="auth-points">
          <li>
            <Icon name="check" /> Todos that sync instantly across every tab and device
          </li>
          <li>
            <Icon name="chat" /> Chats with typing indicators, presence and unread badges
          </li>
          <li>
            <Icon name="video" /> Peer-to-peer video calls, no plugins
          </li>
        </ul>
      </section>
      <section className="auth-card card">
        <div className="segmented" role="tablist">
          <button role="tab" aria-selected={mode === 'login'} className={mode === 'login' ? 'on' : ''} onClick={() => switchMode('login')}>
            Sign in
          </button>
          <button
            role="tab"
            aria-selected={mode === 'register'}
            className={mode === 'register' ? 'on' : ''}
            onClick={() => switchMode('register')}
            data-testid="switch-register"
          >
            Create account
          </button>
        </div>
        <h2>{mode === 'login' ? 'Welcome back' : 'Create your account'}</h2>
        {notice && <div className="alert warn">{notice}</div>}
        <form onSubmit={submit} noValidate>
          <label className="field">
            <span>Email</span>
            <input
              name="email"
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              placeholder="you@example.com"
              autoFocus
            />
          </label>
          {mode === 'register' && (
            <label className="field">
              <span>Username</span>
              <input
                name="username"
                autoComplete="username"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                placeholder="3-32 characters"
              />
            </label>
          )}
          <label className="field">
            <span>Password</span>
            <input
              name="password"
              type="password"
              autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              placeholder={mode === 'register' ? 'At least 8 characters' : ''}
            />
          </label>
          {error && (
            <div className="alert error" role="alert" data-testid="auth-error">
              {error}
            </div>
          )}
          <button className="btn primary block" type="submit" disabled={busy} data-testid="auth-submit">
            {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'}
          </button>
        </form>
      </section>
    </div>
  )
}
