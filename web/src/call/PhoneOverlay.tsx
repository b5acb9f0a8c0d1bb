import { useEffect, useState } from 'react'
import type { CallIncoming } from '../contract'
import { Avatar, Icon } from '../components/ui'
import type { Phone } from './usePhone'

/**
 * What the phone shows over any page: the incoming-call screen (one card per
 * ringing call, with accept and decline), the caller's ringing screen (with
 * cancel, then the outcome: declined, busy, no answer), and short notices
 * ("Answered on another device", "Missed call from …").
 */
export function PhoneOverlay({ phone }: { phone: Phone }) {
  return (
    <>
      {phone.incoming.map((c) => (
        <IncomingCall key={c.callId} call={c} onAccept={() => phone.accept(c.callId)} onDecline={() => phone.decline(c.callId)} />
      ))}
      {phone.outgoing && <OutgoingCall phone={phone} />}
      {phone.notices.length > 0 && (
        <div className="call-notices" aria-live="polite">
          {phone.notices.map((n) => (
            <div key={n.id} className={`call-notice ${n.kind}`} data-testid="call-notice" data-kind={n.kind} onClick={() => phone.dismiss(n.id)}>
              {n.text}
            </div>
          ))}
        </div>
      )}
    </>
  )
}

function useSecondsLeft(expiresAt: string): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [])
  return Math.max(0, Math.round((new Date(expiresAt).getTime() - now) / 1000))
}

function IncomingCall({ call, onAccept, onDecline }: { call: CallIncoming; onAccept: () => void; onDecline: () => void }) {
  const left = useSecondsLeft(call.expiresAt)
  return (
    <div className="ringing-card incoming" role="dialog" aria-label={`Incoming call from ${call.from.username}`} data-testid="incoming-call" data-call-id={call.callId}>
      <div className="ringing-pulse">
        <Avatar name={call.from.username} size={56} />
      </div>
      <div className="ringing-text">
        <strong data-testid="incoming-caller">{call.from.username}</strong>
        <span className="muted small">
          Incoming {call.kind} call · {left}s
        </span>
      </div>
      <div className="ringing-actions">
        <button className="round hangup" onClick={onDecline} title="Decline" data-testid="decline-call">
          <Icon name="phone" size={20} />
        </button>
        <button className="round accept" onClick={onAccept} title="Accept" data-testid="accept-call">
          <Icon name={call.kind === 'video' ? 'video' : 'phone'} size={20} />
        </button>
      </div>
    </div>
  )
}

function OutgoingCall({ phone }: { phone: Phone }) {
  const out = phone.outgoing
  if (!out) return null
  const ringing = out.status === 'placing' || out.status === 'ringing'
  return (
    <div className="ringing-card outgoing" role="dialog" aria-label="Outgoing call" data-testid="outgoing-call" data-status={out.status} data-call-id={out.callId ?? ''}>
      <div className={ringing ? 'ringing-pulse' : ''}>
        <Avatar name={out.to[0]?.username ?? '?'} size={56} />
      </div>
      <div className="ringing-text">
        <strong>{out.to.map((u) => u.username).join(', ')}</strong>
        <span className="muted small" data-testid="outgoing-status">
          {out.detail}
        </span>
      </div>
      <div className="ringing-actions">
        {ringing ? (
          <button className="round hangup" onClick={phone.cancel} title="Cancel" data-testid="cancel-call">
            <Icon name="phone" size={20} />
          </button>
        ) : (
          <button className="btn small" onClick={phone.dismissOutgoing} data-testid="dismiss-call">
            Close
          </button>
        )}
      </div>
    </div>
  )
}
