//! Namespace `/`: application events. On connect a socket joins its user's
//! room `user-<id>`, so every tab and device of the user receives the
//! events the domain services publish through [`crate::notifier`].

use serde_json::json;
use socketioxide::extract::{SocketRef, State};
use socketioxide::socket::DisconnectReason;

use super::{Reply, events, socket_user};
use crate::app::AppState;

/// Connect handler: join the personal room, register event handlers.
pub async fn on_connect(s: SocketRef, State(_state): State<AppState>) {
    let Some(user) = socket_user(&s) else {
        let _ = s.disconnect();
        return;
    };
    s.join(user.room());
    tracing::info!(user_id = %user.id, socket_id = %s.id, ns = s.ns(), "socket connected");
    s.on(events::JOIN, on_join);
    s.on(events::USER_JOIN, on_join);
    s.on_disconnect(on_disconnect);
}

async fn on_join(s: SocketRef, reply: Reply) {
    let Some(user) = socket_user(&s) else { return };
    let msg = json!({
        "message": "Successfully connected to real-time updates",
        "user": &*user,
    });
    if let Err(e) = s.emit(events::JOINED, &msg) {
        tracing::debug!(socket_id = %s.id, error = %e, "joined not delivered");
    }
    reply.ack(&msg);
}

async fn on_disconnect(s: SocketRef, reason: DisconnectReason) {
    let user = socket_user(&s);
    tracing::info!(
        user_id = user.as_ref().map(|u| u.id.as_str()).unwrap_or("-"),
        socket_id = %s.id,
        ns = s.ns(),
        ?reason,
        "socket disconnected"
    );
}
