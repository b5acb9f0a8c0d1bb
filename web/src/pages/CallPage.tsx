import { useEffect, useRef, useState, type FormEvent } from 'react'
import { ROOM_ID_PATTERN, chatRoomId, type Chat, type User } from '../contract'
import { useSignalling, type SignallingSocket } from '../hooks/useSignalling'
import { CallSession, type CallView, type RemotePeerView } from '../call/CallSession'
import { href, navigate } from '../router'
import { ConnectionPill } from '../components/ConnectionPill'
import { Avatar, EmptyState, Icon } from '../components/ui'
import { chatTitle } from './useChats'
import type { AppSocket } from '../hooks/useAppSocket'
import type { Phone } from '../call/usePhone'
import { CallHistory, Dialer } from './CallHistory'

export function CallPage({ user, roomId, chats, phone }: { user: User; roomId: string | null; chats: Chat[]; phone: Phone }) {
  if (!roomId) return <Lobby user={user} chats={chats} phone={phone} />
  return <CallRoom key={roomId} user={user} roomId={roomId} chats={chats} phone={phone} />
}

function randomRoom(): string {
  const words = ['amber', 'birch', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'harbor', 'iris', 'juniper', 'kite', 'lumen']
  const pick = () => words[Math.floor(Math.random() * words.length)]
  return `${pick()}-${pick()}-${Math.floor(100 + Math.random() * 900)}`
}

function Lobby({ user, chats, phone }: { user: User; chats: Chat[]; phone: Phone }) {
  const [room, setRoom] = useState('')
  const [error, setError] = useState<string | null>(null)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const r = room.trim() || randomRoom()
    if (!ROOM_ID_PATTERN.test(r)) {
      setError('Room names use 1-128 letters, digits and . _ : - (no spaces).')
      return
    }
    navigate({ page: 'call', roomId: r })
  }
  return (
    <div className="page narrow">
      <div className="page-head">
        <div>
          <h1>Calls</h1>
          <p className="muted">Ring someone on every device they have open, or meet in a named room: peer-to-peer video with everyone in it.</p>
        </div>
      </div>
      <Dialer user={user} phone={phone} />
      <form className="card lobby" onSubmit={submit}>
        <label className="field">
          <span>Room name</span>
          <input
            name="room"
            value={room}
            onChange={(e) => {
              setRoom(e.target.value)
              setError(null)
            }}
            placeholder="Leave empty for a new random room"
            data-testid="room-input"
          />
        </label>
        {error && <div className="alert error">{error}</div>}
        <button className="btn primary" type="submit" data-testid="join-room">
          <Icon name="video" /> Join call
        </button>
      </form>
      {chats.length > 0 && (
        <>
          <h3 className="section-title">Call a conversation</h3>
          <ul className="call-chats card">
            {chats.map((c) => (
              <li key={c.id}>
                <a href={href({ page: 'call', roomId: chatRoomId(c.id) })}>
                  <Avatar name={chatTitle(c, user)} size={32} />
                  <span className="call-chat-name">{chatTitle(c, user)}</span>
                  <Icon name="users" size={16} />
                </a>
                <button
                  className="btn small"
                  title="Ring everyone in this chat"
                  disabled={!phone.socket}
                  onClick={() => phone.call(c.participants.filter((p) => p.id !== user.id).slice(0, 15).map((p) => ({ id: p.id, username: p.username })), 'video')}
                  data-testid="ring-chat"
                >
                  <Icon name="phone" size={14} /> Ring
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <CallHistory user={user} phone={phone} />
    </div>
  )
}

type MediaState = { status: 'pending' } | { status: 'ready'; stream: MediaStream | null; error: string | null }

async function getLocalMedia(): Promise<{ stream: MediaStream | null; error: string | null }> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, error: 'This browser cannot use a camera here (a secure context — https or localhost — is required). You can still watch and listen.' }
  }
  const attempts: MediaStreamConstraints[] = [
    { video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true },
    { video: true, audio: false },
    { video: false, audio: true },
  ]
  let last: unknown = null
  for (const c of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(c)
      const missing = !c.video ? 'camera' : !c.audio ? 'microphone' : null
      return { stream, error: missing ? `No ${missing} available; joined without it.` : null }
    } catch (e) {
      last = e
      if (e instanceof DOMException && e.name === 'NotAllowedError') break
    }
  }
  const name = last instanceof DOMException ? last.name : ''
  const why =
    name === 'NotAllowedError'
      ? 'Camera and microphone access was blocked. Allow it in the address bar to be seen and heard.'
      : 'No camera or microphone found.'
  return { stream: null, error: `${why} You can still watch and listen.` }
}

function roomLabel(roomId: string, chats: Chat[], user: User, phone: Phone): string {
  if (roomId.startsWith('call:')) return phone.active?.roomId === roomId && phone.active.with ? `Call with ${phone.active.with}` : 'Call'
  if (roomId.startsWith('chat:')) {
    const chat = chats.find((c) => chatRoomId(c.id) === roomId)
    if (chat) return `Call · ${chatTitle(chat, user)}`
  }
  return roomId
}

declare global {
  interface Window {
    /** Live handles for debugging and the end-to-end tests. */
    __switchboard?: { app?: AppSocket; signalling?: SignallingSocket; call?: CallSession; phone?: SignallingSocket }
  }
}

function CallRoom({ user, roomId, chats, phone }: { user: User; roomId: string; chats: Chat[]; phone: Phone }) {
  const { socket, state, reconnect } = useSignalling(true)
  const [media, setMedia] = useState<MediaState>({ status: 'pending' })
  const [view, setView] = useState<CallView | null>(null)
  const [micOn, setMicOn] = useState(true)
  const [camOn, setCamOn] = useState(true)
  const [copied, setCopied] = useState(false)

  useEffect(() => {
    let live = true
    let got: MediaStream | null = null
    getLocalMedia().then((r) => {
      got = r.stream
      if (live) setMedia({ status: 'ready', ...r })
      else r.stream?.getTracks().forEach((t) => t.stop())
    })
    return () => {
      live = false
      got?.getTracks().forEach((t) => t.stop())
    }
  }, [])

  const stream = media.status === 'ready' ? media.stream : null
  const mediaReady = media.status === 'ready'

  useEffect(() => {
    if (!socket || !mediaReady) return
    const session = new CallSession(socket, roomId, setView)
    window.__switchboard = { ...window.__switchboard, signalling: socket, call: session }
    session.start(stream)
    return () => {
      session.stop()
      if (window.__switchboard?.call === session) window.__switchboard = { ...window.__switchboard, call: undefined, signalling: undefined }
    }
  }, [socket, mediaReady, stream, roomId])

  const toggle = (kind: 'audio' | 'video') => {
    const tracks = kind === 'audio' ? stream?.getAudioTracks() : stream?.getVideoTracks()
    if (!tracks?.length) return
    const next = kind === 'audio' ? !micOn : !camOn
    tracks.forEach((t) => (t.enabled = next))
    if (kind === 'audio') setMicOn(next)
    else setCamOn(next)
  }

  const copyLink = async () => {
    try {
      await navigator.clipboard.writeText(window.location.href)
      setCopied(true)
      setTimeout(() => setCopied(false), 1500)
    } catch {
      /* clipboard unavailable: the URL is in the address bar */
    }
  }

  const phase = view?.phase ?? 'joining'
  const peers = view?.peers ?? []
  const { roomPeers, hangup } = phone
  useEffect(() => roomPeers(roomId, peers.length), [roomPeers, roomId, peers.length])
  // Leaving the room of an invitation hangs up the call.
  useEffect(() => {
    if (!roomId.startsWith('call:')) return
    const callId = roomId.slice('call:'.length)
    return () => hangup(callId)
  }, [roomId, hangup])
  const hasAudio = !!stream?.getAudioTracks().length
  const hasVideo = !!stream?.getVideoTracks().length
  const count = peers.length + 1

  return (
    <div className="call" data-testid="call" data-phase={phase} data-peer-id={view?.peerId ?? ''}>
      <div className="call-head">
        <div>
          <h1 className="call-title">{roomLabel(roomId, chats, user, phone)}</h1>
          <span className="muted small" data-testid="roster-count">
            {phase === 'joined' ? `${count} in call` : phase === 'rejoining' ? 'Rejoining…' : phase === 'failed' ? 'Not joined' : 'Joining…'}
          </span>
        </div>
        <div className="call-head-right">
          <ConnectionPill state={state} label="Signalling" onRetry={reconnect} testId="signalling-connection" />
          <button className="btn small ghost" onClick={copyLink}>
            {copied ? 'Link copied' : 'Copy link'}
          </button>
        </div>
      </div>

      {media.status === 'ready' && media.error && <div className="alert warn">{media.error}</div>}
      {state.status !== 'connected' && state.error && (
        <div className={`alert ${state.status === 'unauthorized' || state.status === 'closed' ? 'error' : 'warn'}`} data-testid="signalling-error">
          {state.error}
        </div>
      )}
      {view?.error && (
        <div className="alert error" role="alert" data-testid="call-error">
          {view.error}
        </div>
      )}

      {phase === 'failed' ? (
        <EmptyState icon="video" title="You are not in this call">
          <a className="btn small" href={href({ page: 'call', roomId: null })}>
            Back to calls
          </a>
        </EmptyState>
      ) : (
        <div className={`grid n${Math.min(count, 9)}`} data-testid="video-grid">
          <LocalTile user={user} stream={stream} camOn={camOn && hasVideo} micOn={micOn && hasAudio} />
          {peers.map((p) => (
            <RemoteTile key={p.peerId} peer={p} />
          ))}
        </div>
      )}

      {phase !== 'failed' && (
        <aside className="roster card" data-testid="roster">
          <h3>
            <Icon name="users" size={16} /> In this call
          </h3>
          <ul>
            <li>
              <Avatar name={user.username} size={26} /> {user.username} <span className="muted small">(you)</span>
            </li>
            {peers.map((p) => (
              <li key={p.peerId} data-testid="roster-peer" data-username={p.username}>
                <Avatar name={p.username} size={26} /> {p.username}
                <span className={`state-dot ${p.connectionState}`} title={p.connectionState} />
              </li>
            ))}
          </ul>
        </aside>
      )}

      {phase !== 'failed' && (
        <div className="controls">
          <button
            className={`round ${micOn && hasAudio ? '' : 'off'}`}
            onClick={() => toggle('audio')}
            disabled={!hasAudio}
            aria-pressed={!micOn}
            title={micOn ? 'Mute microphone' : 'Unmute microphone'}
            data-testid="toggle-mic"
          >
            <Icon name={micOn && hasAudio ? 'mic' : 'mic-off'} size={20} />
          </button>
          <button
            className={`round ${camOn && hasVideo ? '' : 'off'}`}
            onClick={() => toggle('video')}
            disabled={!hasVideo}
            aria-pressed={!camOn}
            title={camOn ? 'Turn camera off' : 'Turn camera on'}
            data-testid="toggle-cam"
          >
            <Icon name={camOn && hasVideo ? 'cam' : 'cam-off'} size={20} />
          </button>
          <button className="round hangup" onClick={() => navigate({ page: 'call', roomId: null })} title="Leave call" data-testid="leave-call">
            <Icon name="phone" size={20} />
          </button>
        </div>
      )}
    </div>
  )
}

function LocalTile({ user, stream, camOn, micOn }: { user: User; stream: MediaStream | null; camOn: boolean; micOn: boolean }) {
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    const v = ref.current
    if (!v) return
    v.srcObject = stream
    if (stream) v.play().catch(() => {})
  }, [stream])
  return (
    <div className="tile local" data-testid="local-tile">
      <video ref={ref} autoPlay playsInline muted className={camOn ? '' : 'hidden'} />
      {!camOn && (
        <div className="tile-placeholder">
          <Avatar name={user.username} size={72} />
        </div>
      )}
      <div className="tile-label">
        {!micOn && <Icon name="mic-off" size={14} />} You
      </div>
    </div>
  )
}

const STATE_TEXT: Record<RTCPeerConnectionState, string> = {
  new: 'Connecting…',
  connecting: 'Connecting…',
  connected: '',
  disconnected: 'Reconnecting…',
  failed: 'Connection failed — retrying',
  closed: 'Left',
}

function RemoteTile({ peer }: { peer: RemotePeerView }) {
  const ref = useRef<HTMLVideoElement>(null)
  const [blocked, setBlocked] = useState(false)
  const [hasVideo, setHasVideo] = useState(false)

  useEffect(() => {
    const v = ref.current
    if (!v || !peer.stream) return
    if (v.srcObject !== peer.stream) v.srcObject = peer.stream
    v.play()
      .then(() => setBlocked(false))
      .catch(() => {
        // Autoplay with sound was refused: play muted until the user clicks.
        v.muted = true
        setBlocked(true)
        v.play().catch(() => {})
      })
  }, [peer.stream])

  const unmute = () => {
    const v = ref.current
    if (!v) return
    v.muted = false
    v.play().then(() => setBlocked(false)).catch(() => {})
  }

  const status = peer.away ? `${peer.username} is reconnecting…` : STATE_TEXT[peer.connectionState]
  return (
    <div
      className="tile remote"
      data-testid="remote-tile"
      data-peer-id={peer.peerId}
      data-username={peer.username}
      data-connection-state={peer.connectionState}
      data-polite={peer.polite ? 'true' : 'false'}
      data-away={peer.away ? 'true' : 'false'}
    >
      <video ref={ref} autoPlay playsInline onResize={() => setHasVideo((ref.current?.videoWidth ?? 0) > 0)} onLoadedMetadata={() => setHasVideo((ref.current?.videoWidth ?? 0) > 0)} className={hasVideo ? '' : 'hidden'} />
      {!hasVideo && (
        <div className="tile-placeholder">
          <Avatar name={peer.username} size={72} />
        </div>
      )}
      {status && <div className="tile-status">{status}</div>}
      {blocked && (
        <button className="btn small unmute" onClick={unmute}>
          Click to hear {peer.username}
        </button>
      )}
      <div className="tile-label">{peer.username}</div>
    </div>
  )
}
