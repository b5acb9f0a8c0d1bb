//! The behaviour every database behind the store ports must show (SQLite
//! and PostgreSQL run the same suite), as one async test function over the
//! traits: accounts, todos, chats with unread counts and history, the call
//! log, and the webhook queue. It panics on the first broken rule (test
//! code).

use super::store::UserWithHash;
use super::{CallLog, ChatStore, HookQueue, QueuedHook, StoreError, TodoStore, UserStore};
use crate::wire::calls::{CallKind, CallOutcome, CallRecord, LoggedInvitee};
use crate::wire::{CallId, Priority, Todo, TodoId, UserId, UserRef, UserSummary};

fn ok<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

fn todo(owner: &UserId, title: &str, at: &str) -> Todo {
    Todo {
        id: TodoId::new(uuid::Uuid::new_v4().to_string()),
        title: title.to_owned(),
        description: String::new(),
        completed: false,
        priority: Priority::default(),
        due_date: None,
        user_id: owner.clone(),
        created_at: at.to_owned(),
        updated_at: at.to_owned(),
    }
}

fn refer(u: &UserSummary) -> UserRef {
    UserRef {
        id: u.id.clone(),
        username: u.username.clone(),
    }
}

/// Run every rule against `s`, an empty database.
pub async fn store<S>(s: &S)
where
    S: UserStore + TodoStore + ChatStore + CallLog + HookQueue,
{
    // Accounts.
    let alice = ok(
        s.create_user("alice@example.com", "Alice", "h1").await,
        "create",
    );
    let bob = ok(
        s.create_user("bob@example.com", "bob", "h2").await,
        "create",
    );
    let carol = ok(
        s.create_user("carol@example.com", "carol", "h3").await,
        "create",
    );
    assert!(matches!(
        s.create_user("alice@example.com", "other", "h").await,
        Err(StoreError::Conflict(_))
    ));
    let found: Option<UserWithHash> = ok(s.user_by_email("alice@example.com").await, "by email");
    assert_eq!(
        found.map(|u| (u.user.id, u.password_hash)),
        Some((alice.id.clone(), "h1".into()))
    );
    assert_eq!(ok(s.user_by_id(&bob.id).await, "by id"), Some(bob.clone()));
    assert_eq!(
        ok(s.user_by_id(&UserId::from("nobody")).await, "by id"),
        None
    );
    let hits = ok(s.search_users("ALI", 10).await, "search");
    assert_eq!(hits, vec![alice.clone()], "search ignores case");
    assert!(
        ok(s.search_users("%", 10).await, "search").is_empty(),
        "% is literal"
    );
    assert_eq!(
        ok(s.search_users("example", 2).await, "search").len(),
        2,
        "limit"
    );
    let mut some = ok(
        s.users_by_ids(&[bob.id.clone(), carol.id.clone(), UserId::from("x")])
            .await,
        "ids",
    );
    some.sort_by(|a, b| a.username.cmp(&b.username));
    assert_eq!(some, vec![bob.clone(), carol.clone()]);

    // Todos: newest first, ties in reverse insertion order, owner-scoped.
    let at = "2026-01-01T00:00:00.000Z";
    let first = todo(&alice.id, "first", at);
    let second = todo(&alice.id, "second", at);
    let later = todo(&alice.id, "later", "2026-01-02T00:00:00.000Z");
    for t in [&first, &second, &later] {
        ok(s.insert_todo(t).await, "insert todo");
    }
    let titles: Vec<String> = ok(s.list_todos(&alice.id).await, "list")
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(titles, ["later", "second", "first"]);
    assert!(
        ok(s.todo(&bob.id, &first.id).await, "todo").is_none(),
        "another owner's"
    );
    let mut done = first.clone();
    done.completed = true;
    done.priority = Priority::High;
    ok(s.update_todo(&done).await, "update");
    assert_eq!(
        ok(s.todo(&alice.id, &first.id).await, "todo"),
        Some(done.clone())
    );
    let mut foreign = done.clone();
    foreign.user_id = bob.id.clone();
    assert!(matches!(
        s.update_todo(&foreign).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.delete_todo(&bob.id, &first.id).await,
        Err(StoreError::NotFound)
    ));
    ok(s.delete_todo(&alice.id, &first.id).await, "delete");
    assert!(matches!(
        s.insert_todo(&todo(&UserId::from("ghost"), "x", at)).await,
        Err(StoreError::NotFound)
    ));

    // Chats: unread counts, last message, activity order, history pages.
    let ab = ok(
        s.create_chat(None, &alice.id, vec![alice.clone(), bob.clone()])
            .await,
        "chat",
    );
    let ac = ok(
        s.create_chat(Some("team"), &alice.id, vec![alice.clone(), carol.clone()])
            .await,
        "chat",
    );
    assert!(matches!(
        s.create_chat(
            None,
            &alice.id,
            vec![
                alice.clone(),
                UserSummary {
                    id: UserId::from("ghost"),
                    username: "g".into(),
                    email: "g@x".into()
                }
            ]
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert!(ok(
        s.is_chat_participant(&ab.id, &bob.id).await,
        "participant"
    ));
    assert!(!ok(
        s.is_chat_participant(&ab.id, &carol.id).await,
        "participant"
    ));
    let order: Vec<_> = ok(s.chats_of(&alice.id, None).await, "chats")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        order,
        vec![ac.id.clone(), ab.id.clone()],
        "newest chat first"
    );
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(ok(
            s.insert_message(&ab.id, &refer(&alice), &format!("m{i}"))
                .await,
            "message",
        ));
    }
    let mine = ok(s.chats_of(&alice.id, None).await, "chats");
    assert_eq!(mine[0].id, ab.id, "the chat with the newest message first");
    assert_eq!(
        mine[0].last_message.as_ref().map(|m| m.text.as_str()),
        Some("m4")
    );
    assert_eq!(mine[0].unread_count, 0, "the sender has nothing unread");
    let bobs = ok(s.chats_of(&bob.id, Some(&ab.id)).await, "chats");
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].unread_count, 5);
    let names: Vec<&str> = bobs[0]
        .participants
        .iter()
        .map(|p| p.username.as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    ok(s.mark_chat_read(&ab.id, &bob.id).await, "read");
    assert_eq!(
        ok(s.chats_of(&bob.id, Some(&ab.id)).await, "chats")[0].unread_count,
        0
    );
    assert!(matches!(
        s.mark_chat_read(&ab.id, &carol.id).await,
        Err(StoreError::NotFound)
    ));
    let newest = ok(s.messages(&ab.id, 2, None).await, "history");
    assert_eq!(
        newest.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m3", "m4"]
    );
    let pos = ok(s.message_seq(&ab.id, &newest[0].id).await, "seq");
    let older = ok(s.messages(&ab.id, 10, pos).await, "history");
    assert_eq!(
        older.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["m0", "m1", "m2"]
    );
    assert_eq!(
        ok(s.message_seq(&ac.id, &sent[0].id).await, "seq"),
        None,
        "other chat"
    );
    let mut members: Vec<String> = ok(s.chat_members(&ab.id).await, "members")
        .into_iter()
        .map(|m| m.username)
        .collect();
    members.sort();
    assert_eq!(members, ["Alice", "bob"]);
    let mut contacts = ok(s.chat_contacts(&alice.id).await, "contacts");
    contacts.sort();
    let mut want = vec![bob.id.clone(), carol.id.clone()];
    want.sort();
    assert_eq!(contacts, want);

    // The call log: upserts, invitees in order, most recent first, pages.
    let mut calls = Vec::new();
    for i in 0..3 {
        let call = CallRecord {
            id: CallId::new(uuid::Uuid::new_v4().to_string()),
            kind: CallKind::Video,
            caller: refer(&alice),
            invitees: vec![
                LoggedInvitee {
                    id: bob.id.clone(),
                    username: bob.username.clone(),
                    outcome: CallOutcome::Missed,
                },
                LoggedInvitee {
                    id: carol.id.clone(),
                    username: carol.username.clone(),
                    outcome: CallOutcome::Missed,
                },
            ],
            started_at: format!("2026-01-0{}T00:00:00.000Z", i + 1),
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            outcome: CallOutcome::Missed,
        };
        ok(s.save_call(&call).await, "save call");
        calls.push(call);
    }
    let mut answered = calls[1].clone();
    answered.answered_at = Some("2026-01-02T00:00:01.000Z".into());
    answered.ended_at = Some("2026-01-02T00:00:11.000Z".into());
    answered.duration_ms = Some(10_000);
    answered.outcome = CallOutcome::Answered;
    answered.invitees[0].outcome = CallOutcome::Answered;
    ok(s.save_call(&answered).await, "update call");
    let log = ok(s.calls_of(&bob.id, 50, None).await, "log");
    assert_eq!(
        log.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![
            calls[2].id.clone(),
            calls[1].id.clone(),
            calls[0].id.clone()
        ]
    );
    assert_eq!(log[1], answered, "the rewrite is what is read back");
    let page = ok(s.calls_of(&carol.id, 50, Some(&calls[1].id)).await, "page");
    assert_eq!(
        page.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![calls[0].id.clone()]
    );
    assert!(matches!(
        s.calls_of(&carol.id, 50, Some(&CallId::new("nope".to_owned())))
            .await,
        Err(StoreError::NotFound)
    ));
    let dave = ok(
        s.create_user("dave@example.com", "dave", "h4").await,
        "create",
    );
    assert!(
        ok(s.calls_of(&dave.id, 50, None).await, "log").is_empty(),
        "not a participant"
    );

    // The webhook queue: the oldest of each key, retries, removal.
    let hook = |id: &str, key: &str, created: i64| QueuedHook {
        id: id.to_owned(),
        url: "http://r/".to_owned(),
        key: key.to_owned(),
        body: format!("{{\"id\":\"{id}\"}}"),
        created_ms: created,
        attempts: 0,
    };
    ok(
        s.push(&[
            hook("e1", "room:a", 10),
            hook("e2", "room:a", 11),
            hook("e3", "room:b", 12),
        ])
        .await,
        "push",
    );
    ok(s.push(&[hook("e1", "room:a", 10)]).await, "push again");
    assert_eq!(ok(s.waiting().await, "waiting"), 3, "a repeat is ignored");
    let claim = |now: i64| s.claim("http://r/", now, now + 1000, 10);
    let ids = |v: Vec<QueuedHook>| v.into_iter().map(|h| h.id).collect::<Vec<_>>();
    assert_eq!(
        ids(ok(claim(100).await, "claim")),
        ["e1", "e3"],
        "the oldest of each key"
    );
    assert!(
        ok(claim(100).await, "claim").is_empty(),
        "claimed ones are leased"
    );
    ok(s.retry("e1", "http://r/", 1, 500).await, "retry");
    assert!(
        ok(claim(100).await, "claim").is_empty(),
        "e2 waits for e1, e3 is leased"
    );
    assert_eq!(ok(s.next_due("http://r/").await, "next"), Some(500));
    let again = ok(claim(600).await, "claim");
    assert_eq!(
        again
            .iter()
            .map(|h| (h.id.as_str(), h.attempts))
            .collect::<Vec<_>>(),
        [("e1", 1)]
    );
    ok(s.remove("e1", "http://r/").await, "remove");
    ok(s.remove("e3", "http://r/").await, "remove");
    assert_eq!(ids(ok(claim(600).await, "claim")), ["e2"]);
    assert!(
        ok(s.claim("http://other/", 600, 700, 10).await, "claim").is_empty(),
        "per receiver"
    );
    assert_eq!(ok(s.next_due("http://other/").await, "next"), None);

    // Two workers (two nodes) claiming at once never take the same event.
    let many: Vec<QueuedHook> = (0..40)
        .map(|i| hook(&format!("c{i}"), &format!("k{i}"), 1000))
        .collect();
    ok(s.push(&many).await, "push");
    let (x, y) = tokio::join!(
        s.claim("http://r/", 2000, 9000, 25),
        s.claim("http://r/", 2000, 9000, 25)
    );
    let (x, y) = (ok(x, "claim"), ok(y, "claim"));
    let rest = ok(s.claim("http://r/", 2000, 9000, 50).await, "claim");
    let mut all: Vec<String> = x
        .iter()
        .chain(&y)
        .chain(&rest)
        .map(|h| h.id.clone())
        .filter(|i| i.starts_with('c'))
        .collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "no event claimed twice");
    assert_eq!(n, 40, "every due event was claimed once");
}
