import { useEffect, useState, type FormEvent } from 'react'
import { api, errorText } from '../api'
import type { CallKind, CallLogEntry, MessageSender, User } from '../contract'
import { Avatar, Icon, formatTime } from '../components/ui'
import type { Phone } from '../call/usePhone'

/** Ring someone: search users by name or e-mail, then an audio or video call. */
export function Dialer({ user, phone }: { user: User; phone: Phone }) {
  const [q, setQ] = useState('')
  const [found, setFound] = useState<User[]>([])
  const [error, setError] = useState<string | null>(null)
  const search = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    try {
      const users = await api.searchUsers(q.trim())
      setFound(users.filter((u) => u.id !== user.id))
      if (users.length === 0) setError('Nobody matches that name or e-mail.')
    } catch (err) {
      setError(errorText(err))
    }
  }
  const ring = (u: User, kind: CallKind) => phone.call([{ id: u.id, username: u.username }], kind)
  return (
    <div className="card dialer">
      <form className="dialer-search" onSubmit={search}>
        <input value={q} onChange={(e) => setQ(e.target.value)} placeholder="Call someone: name or e-mail" data-testid="dial-search" />
        <button className="btn" type="submit" data-testid="dial-search-submit">
          <Icon name="search" size={16} /> Find
        </button>
      </form>
      {error && <div className="alert warn">{error}</div>}
      {found.length > 0 && (
        <ul className="dialer-results">
          {found.map((u) => (
            <li key={u.id} data-testid="dial-result" data-username={u.username}>
              <Avatar name={u.username} size={28} />
              <span className="call-chat-name">{u.username}</span>
              <button className="btn small" onClick={() => ring(u, 'audio')} disabled={!phone.socket} data-testid="dial-audio" title={`Audio call ${u.username}`}>
                <Icon name="phone" size={14} />
              </button>
              <button className="btn small primary" onClick={() => ring(u, 'video')} disabled={!phone.socket} data-testid="dial-video" title={`Video call ${u.username}`}>
                <Icon name="video" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

function duration(ms: number | null): string {
  if (ms === null) return ''
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`
}

/** Who the call was with, seen from `me`. */
function others(entry: CallLogEntry, me: User): MessageSender[] {
  if (entry.caller.id !== me.id) return [entry.caller]
  return entry.invitees.map((i) => ({ id: i.id, username: i.username }))
}

/** My outcome: the invitee's own, or the call's for the caller. */
function outcomeFor(entry: CallLogEntry, me: User): CallLogEntry['outcome'] {
  if (entry.caller.id === me.id) return entry.outcome
  return entry.invitees.find((i) => i.id === me.id)?.outcome ?? entry.outcome
}

const OUTCOME_TEXT: Record<string, string> = {
  answered: 'Answered',
  missed: 'Missed',
  declined: 'Declined',
  cancelled: 'Cancelled',
  busy: 'Busy',
}

/** The call log: most recent first, missed calls marked, call back. */
export function CallHistory({ user, phone }: { user: User; phone: Phone }) {
  const [entries, setEntries] = useState<CallLogEntry[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const busy = !!phone.outgoing || !!phone.active
  useEffect(() => {
    // Refresh whenever a call starts or stops ringing here.
    let live = true
    api
      .calls(50)
      .then((list) => live && setEntries(list))
      .catch((e) => live && setError(errorText(e)))
    return () => {
      live = false
    }
  }, [busy, phone.incoming.length, phone.notices.length])
  if (error) return <div className="alert error">Could not load the call history: {error}</div>
  if (!entries) return null
  return (
    <>
      <h3 className="section-title">Recent calls</h3>
      {entries.length === 0 ? (
        <p className="muted">No calls yet.</p>
      ) : (
        <ul className="call-history card" data-testid="call-history">
          {entries.map((e) => {
            const outgoing = e.caller.id === user.id
            const outcome = outcomeFor(e, user)
            const missed = !outgoing && (outcome === 'missed' || outcome === 'cancelled')
            const who = others(e, user)
            return (
              <li
                key={e.id}
                className={missed ? 'missed' : ''}
                data-testid="call-log-entry"
                data-outcome={outcome}
                data-direction={outgoing ? 'outgoing' : 'incoming'}
                data-missed={missed ? 'true' : 'false'}
              >
                <Avatar name={who[0]?.username ?? '?'} size={28} />
                <span className="call-chat-name">
                  {who.map((u) => u.username).join(', ')}
                  <span className="muted small">
                    {' '}
                    {outgoing ? '↗' : '↙'} {e.kind} · {missed ? 'Missed' : OUTCOME_TEXT[outcome]} {duration(e.durationMs)}
                  </span>
                </span>
                <span className="muted small">{formatTime(e.startedAt)}</span>
                <button className="btn small" disabled={!phone.socket} onClick={() => phone.call(who, e.kind)} title="Call back" data-testid="call-back">
                  <Icon name="phone" size={14} />
                </button>
              </li>
            )
          })}
        </ul>
      )}
    </>
  )
}
