import type { ConnState } from '../hooks/socketState'

const LABELS: Record<ConnState['status'], string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  unauthorized: 'Not authorized',
  closed: 'Disconnected',
}

/** A small visible indicator of one namespace's connection state. */
export function ConnectionPill({
  state,
  label,
  onRetry,
  testId,
}: {
  state: ConnState
  label: string
  onRetry?: () => void
  testId?: string
}) {
  const retry = onRetry && (state.status === 'closed' || state.status === 'unauthorized')
  return (
    <span
      className={`pill ${state.status}`}
      data-testid={testId}
      data-status={state.status}
      title={state.error ?? `${label}: ${LABELS[state.status]}`}
    >
      <span className="dot" />
      <span className="pill-text">{label === '' ? LABELS[state.status] : `${LABELS[state.status]}`}</span>
      {retry && (
        <button className="link" onClick={onRetry}>
          retry
        </button>
      )}
    </span>
  )
}
