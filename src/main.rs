//! The `switchboard` binary: `serve` runs the server, `token` mints a JWT.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard::config::{Config, SecretArgs, parse_duration};
use switchboard::domain::identity::TokenService;
use switchboard::turn::server::{TurnServer, TurnServerConfig};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Real-time gateway and WebRTC signalling server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<Config>),
    /// Print a JWT signed with the configured secret.
    Token {
        /// User id (`sub`).
        #[arg(long)]
        user_id: String,
        /// Username claim.
        #[arg(long)]
        username: String,
        /// E-mail claim.
        #[arg(long)]
        email: String,
        /// Lifetime, e.g. `1h`, `30m`, `7d`.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        secret: SecretArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go through a background writer: a slow stdout never stalls the
    // runtime threads that serve sockets. The guard flushes on exit.
    // `LOG_FORMAT=json` writes one JSON object per line; colours only on a
    // terminal.
    let (writer, _log_guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    match std::env::var("LOG_FORMAT").ok().as_deref() {
        Some("json") => builder.json().flatten_event(true).init(),
        Some("text") | Some("") | None => builder.init(),
        Some(other) => {
            builder.init();
            tracing::warn!(
                log_format = other,
                "unknown LOG_FORMAT (use text or json): using text"
            );
        }
    }
    match Cli::parse().command {
        Command::Serve(config) => serve(*config).await,
        Command::Token {
            user_id,
            username,
            email,
            ttl,
            secret,
        } => {
            let secret = secret
                .jwt_secret
                .context("set JWT_SECRET (or --jwt-secret) to the server's secret")?;
            let token = TokenService::new(&secret, ttl)
                .issue(&user_id, &username, &email, Some(ttl))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(mut config: Config) -> anyhow::Result<()> {
    if config.secret.jwt_secret.is_none() {
        use rand::Rng;
        let secret: String = rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(48)
            .map(char::from)
            .collect();
        tracing::warn!(
            "JWT_SECRET is not set: generated a random secret for this run; tokens will not \
             survive a restart. Set JWT_SECRET in production."
        );
        config.secret.jwt_secret = Some(secret);
    }
    config.ice = config.ice.normalized();
    let listener = switchboard::app::bind(&config).await?;
    let addr = listener.local_addr()?;
    let turn = if config.ice.turn {
        let t = TurnServer::start(TurnServerConfig::from_ice_args(&config.ice)?).await?;
        tracing::info!(url = %t.url(), "embedded TURN server listening");
        Some(t)
    } else {
        None
    };
    let app = switchboard::App::build_with_turn(config, turn.as_ref().map(|t| t.url())).await?;
    tracing::info!(%addr, "switchboard listening");
    app.serve(listener, shutdown_signal()).await?;
    if let Some(t) = turn {
        t.close().await?;
    }
    tracing::info!("bye");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
