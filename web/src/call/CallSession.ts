import type {
  Ack,
  IceCandidate,
  PeerAway,
  PeerInfo,
  PeerJoined,
  PeerLeft,
  PeerResumed,
  RelayedCandidate,
  RelayedSdp,
  RoomJoinOk,
  RoomResumeOk,
  SessionDescription,
} from '../contract'
import type { SignallingSocket } from '../hooks/useSignalling'

/**
 * A mesh call in one `/webrtc` room: one RTCPeerConnection per remote peer,
 * negotiated with the "perfect negotiation" pattern.
 *
 * Who offers: the newcomer. Its join ack lists the peers already in the
 * room and it opens a connection to each and offers; the others open theirs
 * on `peer:joined` (or on the offer) and answer, adding their own tracks to
 * the transceivers the offer created, so one round trip sets up media both
 * ways and the usual case has no offer collision at all. (Should the offer
 * not arrive within OFFER_FALLBACK_MS, the existing peer offers itself.)
 *
 * Roles for any collision (fallback, renegotiation, ICE restart): for every
 * pair, the peer whose peerId (its socket id) is
 * lexicographically LARGER is polite. Both sides compute the same answer
 * from the two ids alone, with no extra messages; after a reconnect a peer
 * has a new id and the roles are simply computed again. The impolite peer
 * ignores an offer that collides with its own; the polite one rolls back
 * and answers.
 *
 * ICE candidates that arrive before the remote description is set are kept
 * and added right after it (also those that arrive before the connection
 * exists at all), and room events that arrive before our own join ack are
 * replayed once it is in. ICE servers come from the `room:join` ack.
 * The join is resumable. When the signalling socket drops, the media keeps
 * flowing and the others see `peer:away`; on reconnect (new socket id) the
 * session sends `room:resume` with its token and keeps every connection:
 * the others get `peer:resumed` and re-key their connection to the new id,
 * relays still addressed to the old id reach us, and any connection whose
 * ICE broke meanwhile is restarted. Offers and candidates produced while
 * the socket is down wait in an outbox until the slot is back. Only when
 * the slot is gone (the window ended) is every connection closed and the
 * room joined afresh, and every pair renegotiates from scratch.
 */

export interface RemotePeerView {
  peerId: string
  userId: string
  username: string
  polite: boolean
  /** The peer's signalling socket dropped; its slot is held (`peer:away`). */
  away: boolean
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
  access_denied: 'You are not part of this call or chat (a call admits those who accepted it; it may have ended).',
}

export function joinErrorText(code: string): string {
  return JOIN_ERRORS[code] ? `${JOIN_ERRORS[code]} (${code})` : `Could not join the room: ${code}`
}

/** How long an existing peer waits for the newcomer's offer before offering itself. */
const OFFER_FALLBACK_MS = 4000

let linkCount = 0

class PeerLink {
  readonly pc: RTCPeerConnection
  /** Tells one connection object from another (debugging, the e2e tests). */
  readonly linkId = ++linkCount
  away = false
  makingOffer = false
  ignoreOffer = false
  settingRemoteAnswer = false
  pending: (IceCandidate | null)[] = []
  stream: MediaStream | null = null
  private chain: Promise<void> = Promise.resolve()
  closed = false
  /** Counters for debugging (see CallSession.debugState). */
  stats = { offersSent: 0, answersSent: 0, offersIn: 0, answersIn: 0, ignoredOffers: 0, candidatesSent: 0, candidatesIn: 0, candidatesAdded: 0, candidateErrors: 0 }

  /** Whether our tracks (or receive-only transceivers) are on the connection yet. */
  private attached = false
  private fallback: ReturnType<typeof setTimeout> | undefined

  constructor(
    public info: PeerInfo,
    iceServers: RTCIceServer[],
    private readonly local: MediaStream | null,
    private readonly session: CallSession,
    initiator: boolean,
  ) {
    this.pc = new RTCPeerConnection({ iceServers })
    const pc = this.pc

    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true
        await pc.setLocalDescription()
        if (this.closed || !pc.localDescription) return
        this.stats.offersSent++
        this.session.send('offer', this.info.peerId, pc.localDescription.toJSON() as SessionDescription)
      } catch (e) {
        this.session.log(`offer to ${this.info.username} failed: ${String(e)}`)
      } finally {
        this.makingOffer = false
      }
    }
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return
      this.stats.candidatesSent++
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

    if (initiator) this.attach(true)
    else {
      // The newcomer offers first. Should its offer never come, offer ourselves.
      this.fallback = setTimeout(() => {
        if (this.closed || this.attached) return
        this.session.log(`no offer from ${this.info.username} yet: offering instead`)
        this.attach(true)
      }, OFFER_FALLBACK_MS)
    }
  }

  /** Computed from the two current peer ids, so a resume on either side re-decides it. */
  get polite(): boolean {
    return (this.session.myPeerId() ?? '') > this.info.peerId
  }

  /**
   * Puts our tracks on the connection, which makes it negotiate. Answering a
   * first offer, the tracks take over the transceivers that offer created, so
   * the answer already sends and no second round is needed.
   */
  private attach(receiveOnlyTransceivers: boolean) {
    if (this.attached) return
    this.attached = true
    clearTimeout(this.fallback)
    const local = this.local
    if (local && local.getTracks().length > 0) {
      for (const track of local.getTracks()) this.pc.addTrack(track, local)
    } else if (receiveOnlyTransceivers) {
      // Without camera and microphone still receive the others.
      this.pc.addTransceiver('audio', { direction: 'recvonly' })
      this.pc.addTransceiver('video', { direction: 'recvonly' })
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
    if (description.type === 'offer') this.stats.offersIn++
    else this.stats.answersIn++
    if (this.ignoreOffer) {
      this.stats.ignoredOffers++
      return
    }
    this.settingRemoteAnswer = description.type === 'answer'
    await pc.setRemoteDescription(description)
    this.settingRemoteAnswer = false
    await this.flushCandidates()
    if (description.type === 'offer') {
      this.attach(false)
      await pc.setLocalDescription()
      if (this.closed || !pc.localDescription) return
      this.stats.answersSent++
      this.session.send('answer', this.info.peerId, pc.localDescription.toJSON() as SessionDescription)
    }
  }

  async onCandidate(candidate: IceCandidate | null) {
    this.stats.candidatesIn++
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
      this.stats.candidatesAdded++
    } catch (e) {
      this.stats.candidateErrors++
      if (!this.ignoreOffer) this.session.log(`ICE candidate from ${this.info.username} rejected: ${String(e)}`)
    }
  }

  close() {
    this.closed = true
    clearTimeout(this.fallback)
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
  /** Room events that arrived before our join ack, replayed in order once it is in. */
  private early: (() => void)[] = []
  /** Candidates from peers we have no connection with yet (kept until the connection exists). */
  private orphans = new Map<string, (IceCandidate | null)[]>()
  /** The token that takes our slot back after a reconnect. */
  private resumeToken: string | null = null
  /** Relays produced while the socket is down, sent once the slot is back. */
  private outbox: (() => void)[] = []

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
        away: l.away,
        connectionState: l.pc.connectionState,
        stream: l.stream,
      })),
    }
  }

  /** Negotiation state of every peer connection, for debugging. */
  debugState() {
    return [...this.links.values()].map((l) => ({
      peer: l.info.username,
      peerId: l.info.peerId,
      linkId: l.linkId,
      away: l.away,
      polite: l.polite,
      signalingState: l.pc.signalingState,
      iceGatheringState: l.pc.iceGatheringState,
      iceConnectionState: l.pc.iceConnectionState,
      connectionState: l.pc.connectionState,
      local: l.pc.localDescription?.type ?? null,
      remote: l.pc.remoteDescription?.type ?? null,
      pending: l.pending.length,
      ...l.stats,
    }))
  }

  /** Video frames decoded from each peer so far (from getStats). */
  async mediaStats() {
    const out = []
    for (const l of this.links.values()) {
      let framesDecoded = 0
      const report = await l.pc.getStats()
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') framesDecoded += r.framesDecoded ?? 0
      })
      out.push({ peer: l.info.username, peerId: l.info.peerId, linkId: l.linkId, framesDecoded })
    }
    return out
  }

  /** The ICE servers each peer connection was created with (from the join ack). */
  iceServersInUse(): RTCIceServer[][] {
    return [...this.links.values()].map((l) => l.pc.getConfiguration().iceServers ?? [])
  }

  changed() {
    this.onChange(this.view())
  }

  myPeerId(): string | null {
    return this.peerId
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
        if (this.resumeToken) this.resume(this.resumeToken)
        else this.join()
      }
    })
    on('disconnect', () => {
      if (this.phase === 'joined') {
        this.phase = 'rejoining'
        this.changed()
      }
    })
    // Until the join ack has told us our own peerId, room events are kept and
    // replayed afterwards, in order: the server may relay a peer's offer to us
    // before our ack arrives.
    const roomEvent = <T,>(fn: (m: T) => void) => (m: T) => {
      if (this.phase === 'left') return
      if (this.peerId) fn(m)
      else {
        console.debug(`[call ${this.roomId}] room event before the join ack: kept for later`)
        this.early.push(() => fn(m))
      }
    }
    on(
      'peer:joined',
      roomEvent((p: PeerJoined) => {
        if (p.roomId !== this.roomId || p.peerId === this.peerId) return
        this.ensureLink(p, false)
        this.changed()
      }),
    )
    on(
      'peer:left',
      roomEvent((p: PeerLeft) => {
        if (p.roomId !== this.roomId) return
        this.orphans.delete(p.peerId)
        this.drop(p.peerId)
      }),
    )
    on(
      'peer:away',
      roomEvent((p: PeerAway) => {
        const link = p.roomId === this.roomId ? this.links.get(p.peerId) : undefined
        if (!link) return
        link.away = true
        this.changed()
      }),
    )
    on(
      'peer:resumed',
      roomEvent((p: PeerResumed) => {
        if (p.roomId !== this.roomId) return
        const link = this.links.get(p.previousPeerId)
        if (!link) return
        this.links.delete(p.previousPeerId)
        link.info = { ...link.info, peerId: p.peerId }
        link.away = false
        this.links.set(p.peerId, link)
        // An offer of ours that went to the dropped socket was lost: send it again.
        const offer = link.pc.localDescription
        if (link.pc.signalingState === 'have-local-offer' && offer) {
          this.send('offer', p.peerId, offer.toJSON() as SessionDescription)
        }
        this.changed()
      }),
    )
    on('offer', roomEvent((m: RelayedSdp) => this.onSdp(m)))
    on('answer', roomEvent((m: RelayedSdp) => this.onSdp(m)))
    on(
      'ice-candidate',
      roomEvent((m: RelayedCandidate) => {
        const link = this.links.get(m.from)
        if (link) link.enqueue(() => link.onCandidate(m.candidate))
        else {
          console.debug(`[call ${this.roomId}] candidate from ${m.from} before its connection: kept for later`)
          const kept = this.orphans.get(m.from) ?? []
          if (kept.length < 256) kept.push(m.candidate)
          this.orphans.set(m.from, kept)
        }
      }),
    )
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
    this.peerId = null
    this.early = []
    this.orphans.clear()
    this.outbox = []
    this.resumeToken = null
    this.socket.emit('room:join', { roomId: this.roomId, resumable: true }, (res: Ack<RoomJoinOk>) => {
      if (this.phase === 'left') return
      if (!res || res.success !== true) {
        this.phase = 'failed'
        this.error = joinErrorText(res && 'error' in res ? res.error : 'no_answer')
        this.early = []
        this.changed()
        return
      }
      this.peerId = res.peerId
      this.resumeToken = res.resumeToken ?? null
      this.iceServers = res.iceServers ?? []
      this.phase = 'joined'
      this.error = null
      for (const p of res.peers) this.ensureLink(p, true)
      const early = this.early
      this.early = []
      for (const replay of early) replay()
      this.changed()
    })
  }

  /**
   * Takes our held slot back on the new socket and keeps every connection;
   * falls back to a fresh join when the slot is gone.
   */
  private resume(token: string) {
    this.resumeToken = null
    this.socket.emit('room:resume', { resumeToken: token }, (res: Ack<RoomResumeOk>) => {
      if (this.phase === 'left') return
      if (!res || res.success !== true) {
        this.log(`slot not resumed (${res && 'error' in res ? res.error : 'no answer'}): joining afresh`)
        this.join()
        return
      }
      this.peerId = res.peerId
      this.resumeToken = res.resumeToken
      this.phase = 'joined'
      this.error = null
      // Peers that joined while we were away offered to our old socket: offer to them.
      for (const p of res.peers) if (!this.links.has(p.peerId)) this.ensureLink(p, true)
      for (const [id, link] of [...this.links]) {
        if (!res.peers.some((p) => p.peerId === id)) this.drop(id, false)
        else if (['disconnected', 'failed'].includes(link.pc.iceConnectionState)) link.pc.restartIce()
      }
      const queued = this.outbox
      this.outbox = []
      for (const send of queued) send()
      this.changed()
    })
  }

  private ensureLink(p: PeerInfo, initiator: boolean): PeerLink {
    const existing = this.links.get(p.peerId)
    if (existing) return existing
    const link = new PeerLink(p, this.iceServers, this.local, this, initiator)
    this.links.set(p.peerId, link)
    const kept = this.orphans.get(p.peerId)
    if (kept) {
      this.orphans.delete(p.peerId)
      for (const c of kept) link.enqueue(() => link.onCandidate(c))
    }
    return link
  }

  private onSdp(m: RelayedSdp) {
    if (!this.peerId) return
    const link = this.ensureLink({ peerId: m.from, userId: m.fromUser.id, username: m.fromUser.username }, false)
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

  /** Sends now, or once the slot is back when the socket is down. */
  private relay(send: () => void) {
    if (this.phase === 'rejoining' || !this.socket.connected) {
      if (this.outbox.length < 1024) this.outbox.push(send)
    } else send()
  }

  send(kind: 'offer' | 'answer', to: string, sdp: SessionDescription) {
    this.relay(() =>
      this.socket.emit(kind, { to, sdp }, (r) => {
        if (r && r.success === false) this.log(`${kind} to ${to} refused: ${r.error}`)
      }),
    )
  }

  sendCandidate(to: string, candidate: IceCandidate | null) {
    this.relay(() =>
      this.socket.emit('ice-candidate', { to, candidate }, (r) => {
        if (r && r.success === false) this.log(`candidate to ${to} refused: ${r.error}`)
      }),
    )
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
