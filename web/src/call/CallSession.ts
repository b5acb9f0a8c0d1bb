import type {
  Ack,
  IceCandidate,
  PeerInfo,
  PeerJoined,
  PeerLeft,
  RelayedCandidate,
  RelayedSdp,
  RoomJoinOk,
  SessionDescription,
} from '../contract'
import type { SignallingSocket } from '../hooks/useSignalling'

/**
 * A mesh call in one `/webrtc` room: one RTCPeerConnection per remote peer,
 * negotiated with the "perfect negotiation" pattern.
 *
 * Roles: for every pair, the peer whose peerId (its socket id) is
 * lexicographically LARGER is polite. Both sides compute the same answer
 * from the two ids alone, with no extra messages; after a reconnect a peer
 * has a new id and the roles are simply computed again. The impolite peer
 * ignores an offer that collides with its own; the polite one rolls back
 * and answers.
 *
 * ICE candidates that arrive before the remote description is set are kept
 * and added right after it. ICE servers come from the `room:join` ack.
 * When the signalling socket reconnects (new socket id), every connection
 * is closed and the room is joined again: the others see the old peer
 * leave and the new one join, and every pair renegotiates from scratch.
 */

export interface RemotePeerView {
  peerId: string
  userId: string
  username: string
  polite: boolean
  connectionState: RTCPeerConnectionState
  stream: MediaStream | null
}

export type CallPhase = 'idle' | 'joining' | 'joined' | 'rejoining' | 'failed' | 'left'

export interface CallView {
  phase: CallPhase
  roomId: string
  peerId: string | null
  error: string | null
  peers: RemotePeerView[]
}

const JOIN_ERRORS: Record<string, string> = {
  room_full: 'This room is full. Try again when someone leaves, or pick another room.',
  invalid_room: 'That room name is not valid: use 1-128 letters, digits or . _ : -',
  access_denied: 'This call belongs to a chat you are not part of.',
}

export function joinErrorText(code: string): string {
  return JOIN_ERRORS[code] ? `${JOIN_ERRORS[code]} (${code})` : `Could not join the room: ${code}`
}

class PeerLink {
  readonly pc: RTCPeerConnection
  readonly polite: boolean
  makingOffer = false
  ignoreOffer = false
  settingRemoteAnswer = false
  pending: (IceCandidate | null)[] = []
  stream: MediaStream | null = null
  private chain: Promise<void> = Promise.resolve()
  closed = false

  constructor(
    readonly info: PeerInfo,
    myPeerId: string,
    iceServers: RTCIceServer[],
    local: MediaStream | null,
    private readonly session: CallSession,
  ) {
    this.polite = myPeerId > info.peerId
    this.pc = new RTCPeerConnection({ iceServers })
    const pc = this.pc

    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true
        await pc.setLocalDescription()
        if (this.closed || !pc.localDescription) return
        this.session.send('offer', this.info.peerId, pc.localDescription.toJSON() as SessionDescription)
      } catch (e) {
        this.session.log(`offer to ${this.info.username} failed: ${String(e)}`)
      } finally {
        this.makingOffer = false
      }
    }
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return
      this.session.sendCandidate(this.info.peerId, candidate ? (candidate.toJSON() as IceCandidate) : null)
    }
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? this.stream ?? new MediaStream()
      if (!streams[0] && !stream.getTracks().includes(track)) stream.addTrack(track)
      this.stream = stream
      this.session.changed()
    }
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') pc.restartIce()
      this.session.changed()
    }

    if (local && local.getTracks().length > 0) {
      for (const track of local.getTracks()) pc.addTrack(track, local)
    } else {
      // Without camera and microphone still receive the others.
      pc.addTransceiver('audio', { direction: 'recvonly' })
      pc.addTransceiver('video', { direction: 'recvonly' })
    }
  }

  /** Signalling from this peer is handled strictly in arrival order. */
  enqueue(task: () => Promise<void>) {
    this.chain = this.chain.then(task).catch((e) => this.session.log(`signalling with ${this.info.username}: ${String(e)}`))
  }

  async onDescription(description: SessionDescription) {
    const pc = this.pc
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingRemoteAnswer)
    const offerCollision = description.type === 'offer' && !readyForOffer
    this.ignoreOffer = !this.polite && offerCollision
    if (this.ignoreOffer) return
    this.settingRemoteAnswer = description.type === 'answer'
    await pc.setRemoteDescription(description)
    this.settingRemoteAnswer = false
    await this.flushCandidates()
    if (description.type === 'offer') {
      await pc.setLocalDescription()
      if (this.closed || !pc.localDescription) return
      this.session.send('answer', this.info.peerId, pc.localDescription.toJSON() as SessionDescription)
    }
  }

  async onCandidate(candidate: IceCandidate | null) {
    if (!this.pc.remoteDescription) {
      this.pending.push(candidate)
      return
    }
    await this.addCandidate(candidate)
  }

  private async flushCandidates() {
    const queued = this.pending
    this.pending = []
    for (const c of queued) await this.addCandidate(c)
  }

  private async addCandidate(candidate: IceCandidate | null) {
    try {
      if (candidate) await this.pc.addIceCandidate(candidate)
      else await this.pc.addIceCandidate()
    } catch (e) {
      if (!this.ignoreOffer) this.session.log(`ICE candidate from ${this.info.username} rejected: ${String(e)}`)
    }
  }

  close() {
    this.closed = true
    this.pc.onnegotiationneeded = null
    this.pc.onicecandidate = null
    this.pc.ontrack = null
    this.pc.onconnectionstatechange = null
    this.pc.close()
  }
}

export class CallSession {
  private links = new Map<string, PeerLink>()
  private iceServers: RTCIceServer[] = []
  private peerId: string | null = null
  private phase: CallPhase = 'idle'
  private error: string | null = null
  private local: MediaStream | null = null
  private readonly offs: (() => void)[] = []

  constructor(
    private readonly socket: SignallingSocket,
    readonly roomId: string,
    private readonly onChange: (view: CallView) => void,
  ) {}

  view(): CallView {
    return {
      phase: this.phase,
      roomId: this.roomId,
      peerId: this.peerId,
      error: this.error,
      peers: [...this.links.values()].map((l) => ({
        peerId: l.info.peerId,
        userId: l.info.userId,
        username: l.info.username,
        polite: l.polite,
        connectionState: l.pc.connectionState,
        stream: l.stream,
      })),
    }
  }

  /** The ICE servers each peer connection was created with (from the join ack). */
  iceServersInUse(): RTCIceServer[][] {
    return [...this.links.values()].map((l) => l.pc.getConfiguration().iceServers ?? [])
  }

  changed() {
    this.onChange(this.view())
  }

  log(msg: string) {
    console.warn(`[call ${this.roomId}] ${msg}`)
  }

  /** Starts listening and joins the room (again after every reconnect). */
  start(local: MediaStream | null) {
    this.local = local
    const s = this.socket
    const on = <A extends unknown[]>(event: string, fn: (...args: A) => void) => {
      s.on(event as never, fn as never)
      this.offs.push(() => s.off(event as never, fn as never))
    }
    on('connect', () => {
      if (s.recovered) return
      if (this.phase === 'joined' || this.phase === 'rejoining') {
        this.phase = 'rejoining'
        this.join()
      }
    })
    on('disconnect', () => {
      if (this.phase === 'joined') {
        this.phase = 'rejoining'
        this.changed()
      }
    })
    on('peer:joined', (p: PeerJoined) => {
      if (p.roomId !== this.roomId || !this.peerId || p.peerId === this.peerId) return
      this.ensureLink(p)
      this.changed()
    })
    on('peer:left', (p: PeerLeft) => {
      if (p.roomId !== this.roomId) return
      this.drop(p.peerId)
    })
    on('offer', (m: RelayedSdp) => this.onSdp(m))
    on('answer', (m: RelayedSdp) => this.onSdp(m))
    on('ice-candidate', (m: RelayedCandidate) => {
      const link = this.links.get(m.from)
      if (!link) return
      link.enqueue(() => link.onCandidate(m.candidate))
    })
    this.phase = 'joining'
    this.changed()
    if (s.connected) this.join()
    else {
      const first = () => {
        if (this.phase === 'joining') this.join()
      }
      s.once('connect', first)
      this.offs.push(() => s.off('connect', first))
    }
  }

  private join() {
    // Every previous connection belonged to our previous socket id.
    for (const id of [...this.links.keys()]) this.drop(id, false)
    this.socket.emit('room:join', { roomId: this.roomId }, (res: Ack<RoomJoinOk>) => {
      if (this.phase === 'left') return
      if (!res || res.success !== true) {
        this.phase = 'failed'
        this.error = joinErrorText(res && 'error' in res ? res.error : 'no_answer')
        this.changed()
        return
      }
      this.peerId = res.peerId
      this.iceServers = res.iceServers ?? []
      this.phase = 'joined'
      this.error = null
      for (const p of res.peers) this.ensureLink(p)
      this.changed()
    })
  }

  private ensureLink(p: PeerInfo): PeerLink {
    const existing = this.links.get(p.peerId)
    if (existing) return existing
    const link = new PeerLink(p, this.peerId ?? '', this.iceServers, this.local, this)
    this.links.set(p.peerId, link)
    return link
  }

  private onSdp(m: RelayedSdp) {
    if (!this.peerId) return
    const link = this.ensureLink({ peerId: m.from, userId: m.fromUser.id, username: m.fromUser.username })
    link.enqueue(() => link.onDescription(m.sdp))
    this.changed()
  }

  private drop(peerId: string, notify = true) {
    const link = this.links.get(peerId)
    if (!link) return
    link.close()
    this.links.delete(peerId)
    if (notify) this.changed()
  }

  send(kind: 'offer' | 'answer', to: string, sdp: SessionDescription) {
    this.socket.emit(kind, { to, sdp }, (r) => {
      if (r && r.success === false) this.log(`${kind} to ${to} refused: ${r.error}`)
    })
  }

  sendCandidate(to: string, candidate: IceCandidate | null) {
    this.socket.emit('ice-candidate', { to, candidate }, (r) => {
      if (r && r.success === false) this.log(`candidate to ${to} refused: ${r.error}`)
    })
  }

  /** Leaves the room and closes every connection. */
  stop() {
    const wasIn = this.phase === 'joined' || this.phase === 'rejoining'
    this.phase = 'left'
    for (const off of this.offs) off()
    this.offs.length = 0
    for (const id of [...this.links.keys()]) this.drop(id, false)
    if (wasIn && this.socket.connected) this.socket.emit('room:leave', { roomId: this.roomId }, () => {})
  }
}
