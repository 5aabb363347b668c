//! The `callwire` binary: command line, configuration, wiring and shutdown.

mod config;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::{Config, ServeArgs};

/// mimalloc: under call load glibc's malloc/free were a quarter of the CPU time
/// (many short-lived strings per SIP message); mimalloc's thread-local free lists
/// cut that sharply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long a graceful stop may take before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

#[derive(Parser)]
#[command(
    name = "callwire",
    version,
    about = "A SIP call service with an HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = Config::load(&args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(config))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let token = api_token(&config.data_dir)?;
    // Errors name the backend's problem, never the URL (it may hold a password).
    let store = match &config.database {
        Some(url) => callwire_store::Store::connect(url)
            .await
            .context("cannot open the store (--database / CALLWIRE_DATABASE)")?,
        None => callwire_store::Store::open(&config.data_dir)
            .await
            .context("cannot open the store")?,
    };
    let engine = callwire_engine::Engine::start(config.engine.clone(), store.clone()).await?;
    let listener = TcpListener::bind(config.http)
        .await
        .with_context(|| format!("cannot bind HTTP on {}", config.http))?;
    let bindings = engine.bindings();
    tracing::info!(http = %listener.local_addr()?, sip_udp = %bindings.udp, sip_tcp = %bindings.tcp, "callwire is running");

    let app = callwire_api::app(callwire_api::AppState::new(engine.clone(), &token));
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stopped.await;
            })
            .await
    });

    shutdown_signal().await;
    tracing::info!("stopping: ending calls and unregistering accounts");
    let _ = stop_http.send(());
    engine.shutdown(SHUTDOWN_GRACE).await;
    store.close().await;
    let _ = tokio::time::timeout(Duration::from_millis(500), server).await;
    tracing::info!("stopped");
    Ok(())
}

/// The bearer token: `CALLWIRE_API_TOKEN`, else `<data-dir>/api-token`, generated
/// on first start with mode 0600. The token itself is never logged.
fn api_token(data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(token) = std::env::var("CALLWIRE_API_TOKEN") {
        if !token.trim().is_empty() {
            tracing::info!("API token taken from CALLWIRE_API_TOKEN");
            return Ok(token.trim().to_owned());
        }
    }
    let path = data_dir.join("api-token");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.trim().is_empty() {
            tracing::info!(path = %path.display(), "API token read from file");
            return Ok(existing.trim().to_owned());
        }
    }
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let token = hex::encode(bytes);
    write_private(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated an API token; read it from this file");
    Ok(token)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{contents}\n"))
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
