//! TypeScript for the web client, generated from the wire types with ts-rs:
//! [`contract`] is the text of `web/src/contract.ts`. The test
//! `contract::the_web_client_types_are_current` fails when the checked-in
//! file differs; `UPDATE_CONTRACT=1 cargo test --test api contract`
//! rewrites it.

use ts_rs::{Config, TS};

use super::app::{
    ChatRef, Joined, MessageSend, PresenceList, PresenceUpdate, TodoDeleted, Typing, TypingRequest,
};
use super::calls::{
    AcceptOk, AnsweredElsewhere, CallAccepted, CallCancelled, CallEnded, CallIncoming, CallInvite,
    CallKind, CallOutcome, CallRecord, CallReject, CallRejected, CallRequest, CallTimedOut,
    CancelReason, EndReason, InviteOk, Invitees, LoggedInvitee, RejectReason,
};
use super::http::{
    AuthResponse, CreateChat, ErrorBody, ErrorEvent, IceServer, IceServers, LoginBody, MeResponse,
    NewTodo, RegisterBody, TodoPatch,
};
use super::ids::{CallId, ChatId, MessageId, PeerId, RoomId, TodoId, UserId};
use super::models::{Chat, ChatMember, Message, MessageKind, Priority, Todo, UserRef, UserSummary};
use super::webrtc::{
    CandidateIn, CandidateOut, IceCandidate, LeaveReason, PeerAway, PeerInfo, PeerJoined, PeerLeft,
    PeerResumed, Pong, ResumeRequest, RoomJoined, RoomRequest, RoomResumed, SdpIn, SdpOut,
    SessionDescription,
};

fn decl<T: TS>(cfg: &Config, out: &mut String) {
    out.push_str("export ");
    out.push_str(&T::decl(cfg));
    out.push_str("\n\n");
}

const HEADER: &str = "// Switchboard wire contract, client side. GENERATED from the Rust wire types
// (src/wire, ts-rs) by `UPDATE_CONTRACT=1 cargo test --test api contract`:
// do not edit by hand. Everything else in the web client imports from here.
// The protocol is described in docs/protocol.md.

";

/// Hand-written parts: the ack union and the event maps socket.io-client's
/// typed sockets take (event names as in `wire::events`).
const EVENT_MAPS: &str =
    "export type Ack<T> = ({ success: true } & T) | { success: false; error: string }

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
";

/// The text of `web/src/contract.ts`.
pub fn contract() -> String {
    let cfg = Config::new();
    let mut out = String::from(HEADER);
    out.push_str(
        "// ----------------------------------------------------------------- ids ----\n\n",
    );
    decl::<UserId>(&cfg, &mut out);
    decl::<ChatId>(&cfg, &mut out);
    decl::<TodoId>(&cfg, &mut out);
    decl::<MessageId>(&cfg, &mut out);
    decl::<PeerId>(&cfg, &mut out);
    decl::<RoomId>(&cfg, &mut out);
    decl::<CallId>(&cfg, &mut out);
    out.push_str(
        "// ---------------------------------------------------------------- HTTP ----\n\n",
    );
    decl::<UserSummary>(&cfg, &mut out);
    decl::<RegisterBody>(&cfg, &mut out);
    decl::<LoginBody>(&cfg, &mut out);
    decl::<AuthResponse>(&cfg, &mut out);
    decl::<MeResponse>(&cfg, &mut out);
    decl::<Priority>(&cfg, &mut out);
    decl::<Todo>(&cfg, &mut out);
    decl::<NewTodo>(&cfg, &mut out);
    decl::<TodoPatch>(&cfg, &mut out);
    decl::<UserRef>(&cfg, &mut out);
    decl::<MessageKind>(&cfg, &mut out);
    decl::<Message>(&cfg, &mut out);
    decl::<ChatMember>(&cfg, &mut out);
    decl::<Chat>(&cfg, &mut out);
    decl::<CreateChat>(&cfg, &mut out);
    decl::<IceServer>(&cfg, &mut out);
    decl::<IceServers>(&cfg, &mut out);
    decl::<ErrorBody>(&cfg, &mut out);
    decl::<CallKind>(&cfg, &mut out);
    decl::<CallOutcome>(&cfg, &mut out);
    decl::<LoggedInvitee>(&cfg, &mut out);
    decl::<CallRecord>(&cfg, &mut out);
    out.push_str(
        "// ------------------------------------------------- Namespace `/` (app) ----\n\n",
    );
    decl::<Joined>(&cfg, &mut out);
    decl::<ChatRef>(&cfg, &mut out);
    decl::<MessageSend>(&cfg, &mut out);
    decl::<TypingRequest>(&cfg, &mut out);
    decl::<Typing>(&cfg, &mut out);
    decl::<PresenceUpdate>(&cfg, &mut out);
    decl::<PresenceList>(&cfg, &mut out);
    decl::<TodoDeleted>(&cfg, &mut out);
    decl::<ErrorEvent>(&cfg, &mut out);
    out.push_str(
        "// ------------------------------------------- Namespace `/webrtc` (calls) ----\n\n",
    );
    decl::<RoomRequest>(&cfg, &mut out);
    decl::<PeerInfo>(&cfg, &mut out);
    decl::<RoomJoined>(&cfg, &mut out);
    decl::<PeerJoined>(&cfg, &mut out);
    decl::<LeaveReason>(&cfg, &mut out);
    decl::<PeerLeft>(&cfg, &mut out);
    decl::<ResumeRequest>(&cfg, &mut out);
    decl::<RoomResumed>(&cfg, &mut out);
    decl::<PeerAway>(&cfg, &mut out);
    decl::<PeerResumed>(&cfg, &mut out);
    decl::<SessionDescription>(&cfg, &mut out);
    decl::<SdpIn>(&cfg, &mut out);
    decl::<SdpOut<'static>>(&cfg, &mut out);
    decl::<IceCandidate>(&cfg, &mut out);
    decl::<CandidateIn>(&cfg, &mut out);
    decl::<CandidateOut<'static>>(&cfg, &mut out);
    decl::<Pong>(&cfg, &mut out);
    out.push_str(
        "// ------------------------------------- Namespace `/webrtc`: invitations ----\n\n",
    );
    decl::<Invitees>(&cfg, &mut out);
    decl::<CallInvite>(&cfg, &mut out);
    decl::<InviteOk>(&cfg, &mut out);
    decl::<CallRequest>(&cfg, &mut out);
    decl::<AcceptOk>(&cfg, &mut out);
    decl::<RejectReason>(&cfg, &mut out);
    decl::<CallReject>(&cfg, &mut out);
    decl::<CallIncoming>(&cfg, &mut out);
    decl::<CallAccepted>(&cfg, &mut out);
    decl::<CallRejected>(&cfg, &mut out);
    decl::<CancelReason>(&cfg, &mut out);
    decl::<CallCancelled>(&cfg, &mut out);
    decl::<AnsweredElsewhere>(&cfg, &mut out);
    decl::<CallTimedOut>(&cfg, &mut out);
    decl::<EndReason>(&cfg, &mut out);
    decl::<CallEnded>(&cfg, &mut out);
    out.push_str(EVENT_MAPS);
    out
}
