// Switchboard wire contract, client side. GENERATED from the Rust wire types
// (src/wire, ts-rs) by `UPDATE_CONTRACT=1 cargo test --test api contract`:
// do not edit by hand. Everything else in the web client imports from here.
// The protocol is described in docs/protocol.md.

// ----------------------------------------------------------------- ids ----

export type UserId = string;

export type ChatId = string;

export type TodoId = string;

export type MessageId = string;

export type PeerId = string;

export type RoomId = string;

export type CallId = string;

// ---------------------------------------------------------------- HTTP ----

export type User = { 
/**
 * UUID.
 */
id: UserId, 
/**
 * Display name.
 */
username: string, 
/**
 * E-mail (lower-cased).
 */
email: string, };

export type RegisterBody = { 
/**
 * E-mail address.
 */
email: string, 
/**
 * 3-32 characters.
 */
username: string, 
/**
 * At least 8 characters.
 */
password: string, };

export type LoginBody = { 
/**
 * E-mail address.
 */
email: string, 
/**
 * Password.
 */
password: string, };

export type AuthResponse = { 
/**
 * The JWT (also set as the `access_token` cookie).
 */
accessToken: string, 
/**
 * The user.
 */
user: User, };

export type MeResponse = { 
/**
 * The caller.
 */
user: User, };

export type Priority = "low" | "medium" | "high";

export type Todo = { 
/**
 * UUID.
 */
id: TodoId, 
/**
 * Title (1-200 characters).
 */
title: string, 
/**
 * Free text, possibly empty.
 */
description: string, 
/**
 * Done?
 */
completed: boolean, 
/**
 * `low`, `medium` or `high`.
 */
priority: Priority, 
/**
 * RFC 3339 UTC with milliseconds, or null.
 */
dueDate: string | null, 
/**
 * Owner.
 */
userId: UserId, 
/**
 * RFC 3339 UTC with milliseconds.
 */
createdAt: string, 
/**
 * RFC 3339 UTC with milliseconds.
 */
updatedAt: string, };

export type CreateTodo = { 
/**
 * Required, 1-200 characters after trimming.
 */
title: string, 
/**
 * Optional, up to 2000 characters.
 */
description?: string, 
/**
 * Optional, defaults to `medium`.
 */
priority?: Priority, 
/**
 * RFC 3339 date-time.
 */
dueDate?: string, };

export type UpdateTodo = { 
/**
 * New title.
 */
title?: string, 
/**
 * New description (null clears it).
 */
description?: string, 
/**
 * New completion state.
 */
completed?: boolean, 
/**
 * New priority.
 */
priority?: Priority, 
/**
 * New due date (null clears it).
 */
dueDate?: string | null, };

export type MessageSender = { 
/**
 * User id.
 */
id: UserId, 
/**
 * Display name.
 */
username: string, };

export type MessageKind = "text";

export type Message = { 
/**
 * UUID.
 */
id: MessageId, 
/**
 * The chat.
 */
chatId: ChatId, 
/**
 * Who wrote it.
 */
sender: MessageSender, 
/**
 * Text (1-4000 characters).
 */
text: string, 
/**
 * Always `text`.
 */
type: MessageKind, 
/**
 * RFC 3339 UTC with milliseconds.
 */
createdAt: string, };

export type ChatMember = { 
/**
 * UUID.
 */
id: UserId, 
/**
 * Display name.
 */
username: string, 
/**
 * E-mail (lower-cased).
 */
email: string, 
/**
 * Online on `/` now.
 */
online: boolean, };

export type Chat = { 
/**
 * UUID.
 */
id: ChatId, 
/**
 * Optional name.
 */
name: string | null, 
/**
 * Every participant, the viewer included, with their presence.
 */
participants: Array<ChatMember>, 
/**
 * RFC 3339 UTC with milliseconds.
 */
createdAt: string, 
/**
 * The newest message, if any.
 */
lastMessage: Message | null, 
/**
 * Messages the viewer has not read.
 */
unreadCount: number, };

export type CreateChat = { 
/**
 * The other participants (the creator is always one).
 */
participantIds: Array<string>, 
/**
 * Optional name.
 */
name?: string, };

export type IceServer = { 
/**
 * STUN/TURN URLs.
 */
urls: Array<string>, 
/**
 * TURN username.
 */
username?: string, 
/**
 * TURN credential.
 */
credential?: string, };

export type IceServersResponse = { 
/**
 * Entries for `RTCPeerConnection({iceServers})`.
 */
iceServers: Array<IceServer>, 
/**
 * Seconds the TURN credentials stay valid.
 */
ttl: number, };

export type ApiErrorBody = { 
/**
 * Machine-readable code.
 */
error: string, 
/**
 * Human-readable detail.
 */
message: string, };

export type CallKind = "audio" | "video";

export type CallOutcome = "answered" | "missed" | "declined" | "cancelled" | "busy";

export type LoggedInvitee = { 
/**
 * User id.
 */
id: UserId, 
/**
 * Display name.
 */
username: string, 
/**
 * Their part: answered, missed, declined, cancelled or busy.
 */
outcome: CallOutcome, };

export type CallLogEntry = { 
/**
 * The call.
 */
id: CallId, 
/**
 * Audio or video.
 */
kind: CallKind, 
/**
 * Who called.
 */
caller: MessageSender, 
/**
 * Who was invited, with their outcome.
 */
invitees: Array<LoggedInvitee>, 
/**
 * When the invitation went out, RFC 3339 UTC.
 */
startedAt: string, 
/**
 * When the first invitee accepted.
 */
answeredAt: string | null, 
/**
 * When the call ended (null while it lasts).
 */
endedAt: string | null, 
/**
 * From answer to end, in milliseconds.
 */
durationMs: number | null, 
/**
 * The call's outcome.
 */
outcome: CallOutcome, };

// ------------------------------------------------- Namespace `/` (app) ----

export type JoinedPayload = { 
/**
 * Always "Successfully connected to real-time updates".
 */
message: string, 
/**
 * The socket's user.
 */
user: User, };

export type ChatRef = { 
/**
 * The chat.
 */
chatId: ChatId, };

export type MessageSend = { 
/**
 * The chat.
 */
chatId: ChatId, 
/**
 * Text, 1-4000 characters after trimming.
 */
text: string, };

export type TypingIn = { 
/**
 * The chat.
 */
chatId: ChatId, 
/**
 * Started (true) or stopped (false).
 */
isTyping: boolean, };

export type TypingOut = { 
/**
 * The chat.
 */
chatId: ChatId, 
/**
 * Who is typing.
 */
userId: UserId, 
/**
 * Their display name.
 */
username: string, 
/**
 * Started or stopped.
 */
isTyping: boolean, };

export type PresenceUpdate = { 
/**
 * The user.
 */
userId: UserId, 
/**
 * Online now?
 */
online: boolean, };

export type PresenceList = { 
/**
 * The users sharing a chat with the caller who are online now.
 */
online: Array<UserId>, };

export type TodoDeleted = { 
/**
 * The deleted todo.
 */
id: TodoId, };

export type ErrorEvent = { 
/**
 * Machine-readable code (`invalid_payload`, `peer_not_in_room`, ...).
 */
error: string, 
/**
 * Human-readable detail.
 */
message: string, 
/**
 * With `rate_limited`: milliseconds until an event would pass.
 */
retryAfterMs?: number, };

// ------------------------------------------- Namespace `/webrtc` (calls) ----

export type RoomRequest = { 
/**
 * Room name.
 */
roomId: string, 
/**
 * `room:join` only: hold the slot for a while when the socket drops,
 * and answer with a `resumeToken` to take it back.
 */
resumable?: boolean, };

export type PeerInfo = { 
/**
 * Socket id of the peer in `/webrtc`.
 */
peerId: PeerId, 
/**
 * User id.
 */
userId: UserId, 
/**
 * Display name.
 */
username: string, };

export type RoomJoinOk = { 
/**
 * The room.
 */
roomId: RoomId, 
/**
 * The caller's peer id (its socket id).
 */
peerId: PeerId, 
/**
 * The others already in the room.
 */
peers: Array<PeerInfo>, 
/**
 * ICE servers for this user.
 */
iceServers: Array<IceServer>, 
/**
 * Present for a resumable join: give it to `room:resume` after a
 * reconnect (single use).
 */
resumeToken?: string, };

export type PeerJoined = { 
/**
 * Room name.
 */
roomId: RoomId, 
/**
 * Socket id of the peer in `/webrtc`.
 */
peerId: PeerId, 
/**
 * User id.
 */
userId: UserId, 
/**
 * Display name.
 */
username: string, };

export type LeaveReason = "left" | "disconnected" | "expired";

export type PeerLeft = { 
/**
 * Room name.
 */
roomId: RoomId, 
/**
 * Socket id of the peer that left.
 */
peerId: PeerId, 
/**
 * Its user id.
 */
userId: UserId, 
/**
 * `left` or `disconnected`.
 */
reason: LeaveReason, };

export type ResumeRequest = { 
/**
 * The token of an earlier resumable join.
 */
resumeToken: string, };

export type RoomResumeOk = { 
/**
 * The room.
 */
roomId: RoomId, 
/**
 * The new socket's peer id.
 */
peerId: PeerId, 
/**
 * The peer id the slot had before (relays to it reach the new socket).
 */
previousPeerId: PeerId, 
/**
 * The others in the room.
 */
peers: Array<PeerInfo>, 
/**
 * ICE servers for this user.
 */
iceServers: Array<IceServer>, 
/**
 * A fresh token for the next drop (the old one is used up).
 */
resumeToken: string, };

export type PeerAway = { 
/**
 * Room name.
 */
roomId: RoomId, 
/**
 * The peer whose socket dropped.
 */
peerId: PeerId, };

export type PeerResumed = { 
/**
 * Room name.
 */
roomId: RoomId, 
/**
 * The new peer id.
 */
peerId: PeerId, 
/**
 * The peer id it replaces.
 */
previousPeerId: PeerId, };

export type SessionDescription = { 
/**
 * `offer` or `answer`.
 */
type: 'offer' | 'answer', 
/**
 * The SDP text.
 */
sdp: string, };

export type SdpIn = { 
/**
 * Target peer.
 */
to: string, 
/**
 * The description.
 */
sdp: SessionDescription, };

export type RelayedSdp = { 
/**
 * The sender's peer id.
 */
from: string, 
/**
 * The sender's user.
 */
fromUser: MessageSender, 
/**
 * The description, as sent.
 */
sdp: SessionDescription, };

export type IceCandidate = { 
/**
 * The candidate line (empty string marks end of candidates).
 */
candidate: string, 
/**
 * Media stream id.
 */
sdpMid: string | null, 
/**
 * Media line index.
 */
sdpMLineIndex: number | null, 
/**
 * ICE ufrag.
 */
usernameFragment?: string | null, };

export type CandidateIn = { 
/**
 * Target peer.
 */
to: string, 
/**
 * The candidate, or null.
 */
candidate: IceCandidate | null, };

export type RelayedCandidate = { 
/**
 * The sender's peer id.
 */
from: string, 
/**
 * The candidate, as sent.
 */
candidate: IceCandidate | null, };

export type PongPayload = { 
/**
 * Always "pong".
 */
message: 'pong', 
/**
 * The ping's payload.
 */
echo: unknown, 
/**
 * Server clock, unix milliseconds.
 */
serverTime: number, };

// ------------------------------------- Namespace `/webrtc`: invitations ----

export type Invitees = UserId | Array<UserId>;

export type CallInvite = { 
/**
 * Who to ring.
 */
to: Invitees, 
/**
 * Audio or video.
 */
kind: CallKind, 
/**
 * Free-form object handed to the invitees (at most 4 KiB).
 */
metadata?: Record<string, unknown>, };

export type CallInviteOk = { 
/**
 * The new call.
 */
callId: CallId, 
/**
 * Its signalling room, `call:<callId>`.
 */
roomId: RoomId, 
/**
 * The users being rung.
 */
invited: Array<UserId>, 
/**
 * Users not rung: in another call.
 */
busy: Array<UserId>, 
/**
 * Users not rung: no `/webrtc` socket open.
 */
offline: Array<UserId>, };

export type CallRequest = { 
/**
 * The call.
 */
callId: CallId, };

export type CallAcceptOk = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Its signalling room, to join next.
 */
roomId: RoomId, 
/**
 * ICE servers for this user.
 */
iceServers: Array<IceServer>, };

export type RejectReason = "declined" | "busy";

export type CallReject = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * `declined` (default) or `busy`.
 */
reason?: RejectReason, };

export type CallIncoming = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Its signalling room.
 */
roomId: RoomId, 
/**
 * The caller.
 */
from: MessageSender, 
/**
 * Audio or video.
 */
kind: CallKind, 
/**
 * The caller's metadata (null when none).
 */
metadata: Record<string, unknown> | null, 
/**
 * When the ringing stops, RFC 3339 UTC.
 */
expiresAt: string, };

export type CallAccepted = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Who accepted.
 */
by: MessageSender, };

export type CallRejected = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Who refused.
 */
by: MessageSender, 
/**
 * `declined` or `busy`.
 */
reason: RejectReason, };

export type CancelReason = "cancelled" | "timeout" | "caller_left";

export type CallCancelled = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Why.
 */
reason: CancelReason, };

export type AnsweredElsewhere = { 
/**
 * The call.
 */
callId: CallId, };

export type CallTimedOut = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * The invitee who did not answer.
 */
userId: UserId, };

export type EndReason = "hangup" | "disconnected";

export type CallEnded = { 
/**
 * The call.
 */
callId: CallId, 
/**
 * Who left.
 */
by: MessageSender, 
/**
 * `hangup` or `disconnected`.
 */
reason: EndReason, };

export type Ack<T> = ({ success: true } & T) | { success: false; error: string }

/** Error codes `room:join` may answer with. */
export type RoomJoinError = 'room_full' | 'invalid_room' | 'access_denied' | string

export type RelayAck = Ack<object>

export interface AppServerToClient {
  joined: (p: JoinedPayload) => void
  'todo:created': (t: Todo) => void
  'todo:updated': (t: Todo) => void
  'todo:deleted': (p: TodoDeleted) => void
  'todo:completed': (t: Todo) => void
  'message:new': (m: Message) => void
  'chat:created': (c: Chat) => void
  typing: (p: TypingOut) => void
  'presence:update': (p: PresenceUpdate) => void
  'auth:expiring': (p: { exp: number }) => void
  'auth:expired': (p: { message: string }) => void
  error: (e: ErrorEvent) => void
}

export interface AppClientToServer {
  join: (ack?: (p: JoinedPayload) => void) => void
  'chat:join': (p: ChatRef, ack: (r: Ack<{ message: string }>) => void) => void
  'chat:leave': (p: ChatRef, ack: (r: Ack<{ message: string }>) => void) => void
  'message:send': (p: MessageSend, ack: (r: Ack<{ message: Message }>) => void) => void
  typing: (p: TypingIn) => void
  'presence:list': (ack: (r: Ack<PresenceList>) => void) => void
  'auth:refresh': (p: { token: string }, ack: (r: Ack<{ exp: number }>) => void) => void
}

export interface SignallingServerToClient {
  'peer:joined': (p: PeerJoined) => void
  'peer:left': (p: PeerLeft) => void
  'peer:away': (p: PeerAway) => void
  'peer:resumed': (p: PeerResumed) => void
  offer: (p: RelayedSdp) => void
  answer: (p: RelayedSdp) => void
  'ice-candidate': (p: RelayedCandidate) => void
  pong: (p: PongPayload) => void
  'call:incoming': (p: CallIncoming) => void
  'call:accepted': (p: CallAccepted) => void
  'call:rejected': (p: CallRejected) => void
  'call:cancelled': (p: CallCancelled) => void
  'call:answered-elsewhere': (p: AnsweredElsewhere) => void
  'call:timeout': (p: CallTimedOut) => void
  'call:ended': (p: CallEnded) => void
  'auth:expiring': (p: { exp: number }) => void
  'auth:expired': (p: { message: string }) => void
  error: (e: ErrorEvent) => void
}

export interface SignallingClientToServer {
  'room:join': (p: RoomRequest, ack: (r: Ack<RoomJoinOk>) => void) => void
  'room:leave': (p: RoomRequest, ack: (r: Ack<object>) => void) => void
  'room:resume': (p: ResumeRequest, ack: (r: Ack<RoomResumeOk>) => void) => void
  offer: (p: SdpIn, ack: (r: RelayAck) => void) => void
  answer: (p: SdpIn, ack: (r: RelayAck) => void) => void
  'ice-candidate': (p: CandidateIn, ack: (r: RelayAck) => void) => void
  'ice-servers': (ack: (r: IceServersResponse) => void) => void
  ping: (payload: unknown, ack?: (p: PongPayload) => void) => void
  'call:invite': (p: CallInvite, ack: (r: Ack<CallInviteOk>) => void) => void
  'call:accept': (p: CallRequest, ack: (r: Ack<CallAcceptOk>) => void) => void
  'call:reject': (p: CallReject, ack: (r: Ack<object>) => void) => void
  'call:cancel': (p: CallRequest, ack: (r: Ack<object>) => void) => void
  'call:hangup': (p: CallRequest, ack: (r: Ack<object>) => void) => void
  'auth:refresh': (p: { token: string }, ack: (r: Ack<{ exp: number }>) => void) => void
}

/** Error codes the `call:*` events may answer with. */
export type CallError =
  | 'invalid_payload'
  | 'self_call'
  | 'busy'
  | 'unavailable'
  | 'call_not_found'
  | 'not_invited'
  | 'already_answered'
  | 'access_denied'
  | string

/** Room ids the server accepts: 1-128 of [A-Za-z0-9_.:-]. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/

/** Room of a call: admits its caller and the invitees who accepted. */
export const callRoomId = (callId: string) => `call:${callId}`

/** Room reserved for a chat's participants. */
export const chatRoomId = (chatId: string) => `chat:${chatId}`
