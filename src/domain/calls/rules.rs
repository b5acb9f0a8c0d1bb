//! The rules of one call, as pure functions of its [`LiveCall`]: who may
//! answer, who is in it, when it is over, and how it turned out.

use super::CallError;
use crate::ports::{InviteeState, LiveCall};
use crate::wire::UserId;
use crate::wire::calls::{CallOutcome, CallRecord, LoggedInvitee, MAX_INVITEES};

/// The invitees of `call:invite`: 1-15 distinct ids, not the caller.
pub(super) fn invitee_ids(caller: &UserId, to: Vec<UserId>) -> Result<Vec<UserId>, CallError> {
    let mut ids: Vec<UserId> = Vec::with_capacity(to.len());
    for id in to {
        if id.as_str().is_empty() {
            return Err(CallError::InvalidPayload(
                "`to` holds an empty user id".into(),
            ));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_INVITEES {
        return Err(CallError::InvalidPayload(format!(
            "`to` must name 1 to {MAX_INVITEES} users"
        )));
    }
    if ids.contains(caller) {
        return Err(CallError::SelfCall);
    }
    Ok(ids)
}

/// True when `user` was invited.
pub(super) fn is_invitee(call: &LiveCall, user: &UserId) -> bool {
    call.invitees.iter().any(|v| &v.user.id == user)
}

/// The index of `user` among the invitees, if their invitation still
/// rings (so they may accept or reject it).
pub(super) fn answerable(call: &LiveCall, user: &UserId) -> Result<usize, CallError> {
    let i = call
        .invitees
        .iter()
        .position(|v| &v.user.id == user)
        .ok_or(CallError::NotInvited)?;
    match call.invitees[i].state {
        InviteeState::Ringing => Ok(i),
        InviteeState::Joined | InviteeState::Left | InviteeState::Declined | InviteeState::Busy => {
            Err(CallError::AlreadyAnswered)
        }
        InviteeState::Missed | InviteeState::Cancelled => Err(CallError::NotFound),
    }
}

/// The invitees whose devices ring now.
pub(super) fn ringing(call: &LiveCall) -> Vec<UserId> {
    call.invitees
        .iter()
        .filter(|v| v.state == InviteeState::Ringing)
        .map(|v| v.user.id.clone())
        .collect()
}

/// Who is in the call now: the caller (until they hang up) and the
/// invitees who accepted and have not left.
pub(super) fn present(call: &LiveCall) -> Vec<UserId> {
    let caller = call.caller_present.then(|| call.caller.id.clone());
    caller
        .into_iter()
        .chain(
            call.invitees
                .iter()
                .filter(|v| v.state == InviteeState::Joined)
                .map(|v| v.user.id.clone()),
        )
        .collect()
}

/// Over: before an answer, when nobody rings any more; after one, when
/// fewer than two remain.
pub(super) fn is_over(call: &LiveCall) -> bool {
    if call.answered_at.is_none() {
        ringing(call).is_empty()
    } else {
        present(call).len() < 2
    }
}

fn invitee_outcome(state: InviteeState) -> CallOutcome {
    match state {
        InviteeState::Joined | InviteeState::Left => CallOutcome::Answered,
        InviteeState::Declined => CallOutcome::Declined,
        InviteeState::Busy => CallOutcome::Busy,
        InviteeState::Cancelled => CallOutcome::Cancelled,
        InviteeState::Ringing | InviteeState::Missed => CallOutcome::Missed,
    }
}

fn call_outcome(call: &LiveCall) -> CallOutcome {
    let any = |s: InviteeState| call.invitees.iter().any(|v| v.state == s);
    if call.answered_at.is_some() {
        CallOutcome::Answered
    } else if call.cancelled {
        CallOutcome::Cancelled
    } else if any(InviteeState::Declined) {
        CallOutcome::Declined
    } else if any(InviteeState::Busy) {
        CallOutcome::Busy
    } else {
        CallOutcome::Missed
    }
}

fn millis_between(from: &str, to: &str) -> Option<i64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some((to - from).num_milliseconds().max(0))
}

/// The call log entry of `call`, ended at `ended_at` (None while it lasts).
pub fn record(call: &LiveCall, ended_at: Option<String>) -> CallRecord {
    let duration_ms = match (&call.answered_at, &ended_at) {
        (Some(a), Some(e)) => millis_between(a, e),
        _ => None,
    };
    CallRecord {
        id: call.id.clone(),
        kind: call.kind,
        caller: call.caller.clone(),
        invitees: call
            .invitees
            .iter()
            .map(|v| LoggedInvitee {
                id: v.user.id.clone(),
                username: v.user.username.clone(),
                outcome: invitee_outcome(v.state),
            })
            .collect(),
        started_at: call.started_at.clone(),
        answered_at: call.answered_at.clone(),
        outcome: call_outcome(call),
        ended_at,
        duration_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::LiveInvitee;
    use crate::wire::calls::CallKind;
    use crate::wire::{CallId, RoomId, UserRef};

    fn user(id: &str) -> UserRef {
        UserRef {
            id: UserId::from(id),
            username: id.to_owned(),
        }
    }

    fn call(states: &[InviteeState]) -> LiveCall {
        let id = CallId::from("c");
        LiveCall {
            room: RoomId::of_call(&id),
            id,
            kind: CallKind::Audio,
            caller: user("a"),
            caller_present: true,
            invitees: states
                .iter()
                .enumerate()
                .map(|(i, &state)| LiveInvitee {
                    user: user(&format!("b{i}")),
                    state,
                })
                .collect(),
            started_at: "2026-01-01T00:00:00.000Z".into(),
            answered_at: None,
            cancelled: false,
        }
    }

    #[test]
    fn invitees_are_checked() {
        let a = UserId::from("a");
        let ids = |v: &[&str]| v.iter().map(|s| UserId::from(*s)).collect::<Vec<_>>();
        assert_eq!(
            invitee_ids(&a, ids(&["b", "b", "c"])).ok(),
            Some(ids(&["b", "c"]))
        );
        assert!(matches!(
            invitee_ids(&a, vec![]),
            Err(CallError::InvalidPayload(_))
        ));
        assert!(matches!(
            invitee_ids(&a, ids(&["b", "a"])),
            Err(CallError::SelfCall)
        ));
        let many: Vec<String> = (0..16).map(|i| format!("u{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(matches!(
            invitee_ids(&a, ids(&many)),
            Err(CallError::InvalidPayload(_))
        ));
        assert!(matches!(
            invitee_ids(&a, ids(&[""])),
            Err(CallError::InvalidPayload(_))
        ));
    }

    #[test]
    fn a_ringing_call_is_over_when_nobody_rings() {
        use InviteeState::*;
        assert!(!is_over(&call(&[Ringing, Declined])));
        let c = call(&[Declined, Missed]);
        assert!(is_over(&c));
        assert_eq!(record(&c, None).outcome, CallOutcome::Declined);
        assert_eq!(
            record(&call(&[Missed, Busy]), None).outcome,
            CallOutcome::Busy
        );
        assert_eq!(record(&call(&[Missed]), None).outcome, CallOutcome::Missed);
        let mut c = call(&[Cancelled]);
        c.cancelled = true;
        assert_eq!(record(&c, None).outcome, CallOutcome::Cancelled);
    }

    #[test]
    fn an_answered_call_is_over_below_two_present() {
        use InviteeState::*;
        let mut c = call(&[Joined, Ringing]);
        c.answered_at = Some("2026-01-01T00:00:01.000Z".into());
        assert!(!is_over(&c));
        c.caller_present = false;
        assert!(is_over(&c), "one participant left");
        let r = record(&c, Some("2026-01-01T00:00:04.500Z".into()));
        assert_eq!(r.outcome, CallOutcome::Answered);
        assert_eq!(r.duration_ms, Some(3500));
        assert_eq!(r.invitees[0].outcome, CallOutcome::Answered);
    }

    #[test]
    fn only_a_ringing_invitation_is_answerable() {
        use InviteeState::*;
        let c = call(&[Ringing, Joined, Missed]);
        assert_eq!(answerable(&c, &UserId::from("b0")).ok(), Some(0));
        assert!(matches!(
            answerable(&c, &UserId::from("b1")),
            Err(CallError::AlreadyAnswered)
        ));
        assert!(matches!(
            answerable(&c, &UserId::from("b2")),
            Err(CallError::NotFound)
        ));
        assert!(matches!(
            answerable(&c, &UserId::from("zz")),
            Err(CallError::NotInvited)
        ));
    }
}
