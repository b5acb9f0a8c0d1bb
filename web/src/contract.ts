// Switchboard wire contract (v1), client side. The single place where event
// names and payload shapes are written down for the web client; everything
// else imports from here. Source of truth: shared/contract.md.

// ---------------------------------------------------------------- HTTP ----

export interface User {
  id: string
  username: string
  email: string
}

export interface AuthResponse {
  accessToken: string
  user: User
}

export interface MeResponse {
  user: User
}

export type Priority = 'low' | 'medium' | 'high'

export interface Todo {
  id: string
  title: string
  description: string | null
  completed: boolean
  priority: Priority
  dueDate: string | null
  userId: string
  createdAt: string
  updatedAt: string
}

export interface CreateTodo {
  title: string
  description?: string
  priority?: Priority
  dueDate?: string
}

export interface UpdateTodo {
  title?: string
  description?: string
  completed?: boolean
  priority?: Priority
  dueDate?: string | null
}

export interface MessageSender {
  id: string
  username: string
}

export interface Message {
  id: string
  chatId: string
  sender: MessageSender
  text: string
  type: 'text'
  createdAt: string
}

export interface Chat {
  id: string
  name: string | null
  participants: User[]
  createdAt: string
  lastMessage: Message | null
  unreadCount: number
}

export interface CreateChat {
  participantIds: string[]
  name?: string
}

export interface IceServersResponse {
  iceServers: RTCIceServer[]
  ttl: number
}

/** Every HTTP error body. */
export interface ApiErrorBody {
  error: string
  message: string
}

// ------------------------------------------------- Namespace `/` (app) ----

export type Ack<T> = ({ success: true } & T) | { success: false; error: string }

export interface JoinedPayload {
  message: string
  user: User
}

export interface TypingIn {
  chatId: string
  isTyping: boolean
}

export interface TypingOut {
  chatId: string
  userId: string
  username: string
  isTyping: boolean
}

export interface PresenceUpdate {
  userId: string
  online: boolean
}

export interface ErrorEvent {
  error: string
  message: string
}

export interface AppServerToClient {
  joined: (p: JoinedPayload) => void
  'todo:created': (t: Todo) => void
  'todo:updated': (t: Todo) => void
  'todo:deleted': (p: { id: string }) => void
  'todo:completed': (t: Todo) => void
  'message:new': (m: Message) => void
  'chat:created': (c: Chat) => void
  typing: (p: TypingOut) => void
  'presence:update': (p: PresenceUpdate) => void
  error: (e: ErrorEvent) => void
}

export interface AppClientToServer {
  join: (ack?: (p: JoinedPayload) => void) => void
  'chat:join': (p: { chatId: string }, ack: (r: Ack<{ message: string }>) => void) => void
  'chat:leave': (p: { chatId: string }, ack: (r: Ack<{ message: string }>) => void) => void
  'message:send': (p: { chatId: string; text: string }, ack: (r: Ack<{ message: Message }>) => void) => void
  typing: (p: TypingIn) => void
}

// ------------------------------------------- Namespace `/webrtc` (calls) ----

export interface PeerInfo {
  peerId: string
  userId: string
  username: string
}

export interface RoomJoinOk {
  roomId: string
  peerId: string
  peers: PeerInfo[]
  iceServers: RTCIceServer[]
}

/** Error codes `room:join` may answer with. */
export type RoomJoinError = 'room_full' | 'invalid_room' | 'access_denied' | string

export interface PeerJoined extends PeerInfo {
  roomId: string
}

export interface PeerLeft {
  roomId: string
  peerId: string
  userId: string
  reason: 'left' | 'disconnected'
}

export interface SessionDescription {
  type: 'offer' | 'answer'
  sdp: string
}

export interface IceCandidate {
  candidate: string
  sdpMid: string | null
  sdpMLineIndex: number | null
  usernameFragment?: string | null
}

export interface RelayedSdp {
  from: string
  fromUser: { id: string; username: string }
  sdp: SessionDescription
}

export interface RelayedCandidate {
  from: string
  candidate: IceCandidate | null
}

export interface PongPayload {
  message: 'pong'
  echo: unknown
  serverTime: number
}

export type RelayAck = Ack<object>

export interface SignallingServerToClient {
  'peer:joined': (p: PeerJoined) => void
  'peer:left': (p: PeerLeft) => void
  offer: (p: RelayedSdp) => void
  answer: (p: RelayedSdp) => void
  'ice-candidate': (p: RelayedCandidate) => void
  pong: (p: PongPayload) => void
  error: (e: ErrorEvent) => void
}

export interface SignallingClientToServer {
  'room:join': (p: { roomId: string }, ack: (r: Ack<RoomJoinOk>) => void) => void
  'room:leave': (p: { roomId: string }, ack: (r: Ack<object>) => void) => void
  offer: (p: { to: string; sdp: SessionDescription }, ack: (r: RelayAck) => void) => void
  answer: (p: { to: string; sdp: SessionDescription }, ack: (r: RelayAck) => void) => void
  'ice-candidate': (p: { to: string; candidate: IceCandidate | null }, ack: (r: RelayAck) => void) => void
  'ice-servers': (ack: (r: IceServersResponse) => void) => void
  ping: (payload: unknown, ack?: (p: PongPayload) => void) => void
}

/** Room ids the server accepts: 1-128 of [A-Za-z0-9_.:-]. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/

/** Room reserved for a chat's participants. */
export const chatRoomId = (chatId: string) => `chat:${chatId}`
