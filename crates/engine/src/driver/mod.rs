//! The tokio driver: binds sockets, runs the core task, and is the only place that
//! reads the clock. After every input (command, inbound message, timeout) it
//! drains the core's outputs: bytes to sockets, records to the store writer,
//! names to the resolver.

pub(crate) mod dns;
pub(crate) mod media;
pub(crate) mod rtp;
pub(crate) mod transport;

use std::net::{IpAddr, Ipv4Addr, UdpSocket as StdUdp};
use std::sync::Arc;
use std::time::Duration;

use callwire_store::Store;
use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::EngineConfig;
use crate::core::{Command, Core, MediaOp, Output};
use crate::error::EngineError;
use crate::events::LogMarks;
use crate::SipBindings;

use self::transport::{Inbound, Sockets};

/// Inbound SIP messages queued for the core at most.
const INBOUND_QUEUE: usize = 8192;
/// Datagrams taken in one go before the core looks at its other inputs.
const UDP_BATCH: usize = 64;
/// Store writes queued at most.
const STORE_QUEUE: usize = 16384;
/// Media task reports queued for the core at most.
const MEDIA_EVENT_QUEUE: usize = 8192;

/// Internal completions the core waits for (DNS answers).
pub(crate) enum Internal {
    RegistrarResolved {
        account: String,
        generation: u64,
        result: Result<dns::Resolved, EngineError>,
    },
}

/// The address to advertise: the configured one, the bind address when it is
/// specific, else the address the routing table would use to reach the outside
/// (no packet is sent), else loopback.
fn advertised_ip(config: &EngineConfig) -> IpAddr {
    if let Some(ip) = config.advertised_address {
        return ip;
    }
    let bind = config.sip_bind.ip();
    if !bind.is_unspecified() {
        return bind;
    }
    let probe = || -> std::io::Result<IpAddr> {
        let s = StdUdp::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        // connect() on UDP only picks a route; nothing goes on the wire.
        s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(s.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

pub(crate) async fn start(
    config: EngineConfig,
    store: Store,
    hub: Arc<crate::events::EventHub>,
    marks: Arc<LogMarks>,
    mut commands: mpsc::Receiver<Command>,
) -> Result<(SipBindings, JoinHandle<()>), EngineError> {
    let (inbound_tx, mut inbound) = mpsc::channel::<Inbound>(INBOUND_QUEUE);
    let (sockets, listener) = Sockets::bind(
        config.sip_bind,
        inbound_tx,
        config.limits.max_message_bytes,
        Duration::from_secs(config.limits.tcp_idle_secs),
        config.limits.max_tcp_connections,
    )
    .await
    .map_err(|source| EngineError::Io {
        context: format!("cannot bind SIP on {}", config.sip_bind),
        source,
    })?;
    let udp_addr = sockets.udp_addr().map_err(|source| EngineError::Io {
        context: "SIP socket".into(),
        source,
    })?;
    let tcp_addr = listener.local_addr().map_err(|source| EngineError::Io {
        context: "SIP listener".into(),
        source,
    })?;
    let local_ip = advertised_ip(&config);
    tracing::info!(%udp_addr, advertised = %local_ip, "SIP bound");

    let records = store.list_accounts().await?;
    let dtmf_configs = store.list_dtmf_configurations().await?;
    let dtmf_triggers = store.list_dtmf_triggers().await?;
    let next_seq = hub.last_seq() + 1;
    let (internal_tx, mut internal) = mpsc::channel::<Internal>(1024);
    let (store_tx, store_rx) = mpsc::channel::<Output>(STORE_QUEUE);
    let writer = tokio::spawn(store_writer(
        store,
        store_rx,
        config.calls.keep_records,
        config.events.clone(),
        marks,
    ));

    let (media_tx, mut media_events) = mpsc::channel::<media::CallMediaEvent>(MEDIA_EVENT_QUEUE);
    let recordings_dir = config.media.recordings_dir();
    let media_tasks = media::MediaTasks::new(media_tx, store_tx.clone(), recordings_dir);
    let mut core = Core::new(
        config,
        local_ip,
        udp_addr.port(),
        rand::rngs::StdRng::from_entropy(),
    );
    let tcp_task = tokio::spawn(sockets.clone().run_tcp(listener));

    let join = tokio::spawn(async move {
        let mut io = Io {
            sockets,
            store: store_tx,
            internal: internal_tx,
            media: media_tasks,
            hub,
        };
        core.set_next_seq(next_seq);
        core.load_accounts(records, std::time::Instant::now());
        core.load_dtmf(dtmf_configs, dtmf_triggers);
        io.flush(&mut core);
        let mut shutdown: Option<(Instant, tokio::sync::oneshot::Sender<()>)> = None;
        let mut udp_buf = vec![0u8; 65536];
        loop {
            let deadline = core.poll_timeout().map(Instant::from_std);
            let sleep_until = match (&shutdown, deadline) {
                (Some((end, _)), Some(d)) => Some(d.min(*end)),
                (Some((end, _)), None) => Some(*end),
                (None, d) => d,
            };
            let sleep = async {
                match sleep_until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown { grace, reply }) => {
                        core.begin_shutdown(std::time::Instant::now());
                        shutdown = Some((Instant::now() + grace, reply));
                    }
                    Some(cmd) => core.command(cmd, std::time::Instant::now()),
                    None => break,
                },
                // Not `Some(msg) = …`: a pattern miss would disable this branch until
                // another one fires, stalling UDP after every malformed datagram.
                received = io.sockets.recv_udp(&mut udp_buf) => {
                    if let Some(msg) = received {
                        core.receive(msg, std::time::Instant::now());
                    }
                    // Take what else is waiting without going back to the reactor.
                    for _ in 0..UDP_BATCH {
                        match io.sockets.try_recv_udp(&mut udp_buf) {
                            Ok(Some(msg)) => core.receive(msg, std::time::Instant::now()),
                            Ok(None) => {}
                            Err(()) => break,
                        }
                        io.flush(&mut core);
                    }
                }
                Some(msg) = inbound.recv() => {
                    core.receive(msg, std::time::Instant::now());
                    // Take what else is queued without re-arming the timer each time.
                    let mut budget = 64;
                    while budget > 0 {
                        let Ok(msg) = inbound.try_recv() else { break };
                        core.receive(msg, std::time::Instant::now());
                        io.flush(&mut core);
                        budget -= 1;
                    }
                }
                Some(ev) = media_events.recv() => {
                    core.on_media_event(ev, std::time::Instant::now());
                    let mut budget = 64;
                    while budget > 0 {
                        let Ok(ev) = media_events.try_recv() else { break };
                        core.on_media_event(ev, std::time::Instant::now());
                        budget -= 1;
                    }
                }
                Some(done) = internal.recv() => match done {
                    Internal::RegistrarResolved { account, generation, result } => {
                        core.on_registrar_resolved(&account, generation, result, std::time::Instant::now());
                    }
                },
                _ = sleep => core.handle_timeout(std::time::Instant::now()),
            }
            io.flush(&mut core);
            if let Some((end, _)) = &shutdown {
                if core.quiescent() || Instant::now() >= *end {
                    break;
                }
            }
        }
        tcp_task.abort();
        drop(io);
        let _ = writer.await;
        if let Some((_, reply)) = shutdown {
            let _ = reply.send(());
        }
    });
    Ok((
        SipBindings {
            udp: udp_addr,
            tcp: tcp_addr,
        },
        join,
    ))
}

/// Where the core's outputs go.
struct Io {
    sockets: Sockets,
    store: mpsc::Sender<Output>,
    internal: mpsc::Sender<Internal>,
    media: media::MediaTasks,
    hub: std::sync::Arc<crate::events::EventHub>,
}

impl Io {
    fn flush(&mut self, core: &mut Core) {
        while let Some(out) = core.outputs.pop_front() {
            match out {
                Output::Send {
                    transport,
                    dest,
                    bytes,
                } => self.sockets.send(transport, dest, bytes),
                Output::Media(op) => match op {
                    MediaOp::Start {
                        call,
                        ports,
                        config,
                    } => self.media.start(call, ports, config),
                    MediaOp::Command { call, cmd } => self.media.command(&call, cmd),
                    MediaOp::Stop { call } => self.media.stop(&call),
                },
                Output::Event(event) => {
                    self.hub.publish(event.clone());
                    if self.store.try_send(Output::Event(event)).is_err() {
                        tracing::error!("store queue full; an event was not saved");
                    }
                }
                Output::SaveCall(_)
                | Output::SaveDtmfConfiguration(_)
                | Output::DeleteDtmfConfiguration(_)
                | Output::SaveDtmfTrigger(_)
                | Output::DeleteDtmfTrigger(_)
                | Output::SaveAccount(_)
                | Output::DeleteAccount(_)
                | Output::SaveRecording(_)
                | Output::SaveMediaStats { .. } => {
                    if self.store.try_send(out).is_err() {
                        tracing::error!("store queue full; a record was not saved");
                    }
                }
                Output::ResolveRegistrar {
                    account,
                    uri,
                    transport,
                    generation,
                } => {
                    let internal = self.internal.clone();
                    tokio::spawn(async move {
                        let result = dns::resolve_with(&uri, transport).await;
                        let _ = internal
                            .send(Internal::RegistrarResolved {
                                account,
                                generation,
                                result,
                            })
                            .await;
                    });
                }
            }
        }
    }
}

/// Call records written in one transaction at most.
const STORE_BATCH: usize = 512;

/// Applies store writes in order. Call records that queue up while a write is
/// under way go to the store together, in one transaction; pruning of old call
/// records runs now and then.
async fn store_writer(
    store: Store,
    mut rx: mpsc::Receiver<Output>,
    keep: u32,
    events: crate::config::EventsConfig,
    marks: Arc<LogMarks>,
) {
    let mut since_prune = 0usize;
    let mut events_since_prune = 0usize;
    let mut batch: Vec<callwire_store::CallRecord> = Vec::with_capacity(STORE_BATCH);
    let mut event_batch: Vec<callwire_store::EventRecord> = Vec::with_capacity(STORE_BATCH);
    let mut stats_batch: Vec<(String, String)> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(op) = next.take() {
            match op {
                Output::Event(event) => {
                    event_batch.push(event.to_record());
                    if event_batch.len() < STORE_BATCH {
                        next = rx.try_recv().ok();
                        continue;
                    }
                }
                Output::SaveCall(record) => {
                    batch.push(record);
                    if batch.len() < STORE_BATCH {
                        next = rx.try_recv().ok();
                        continue;
                    }
                }
                Output::SaveMediaStats { call, json } => {
                    // After the call records queued before them (the record
                    // must exist), in one transaction with their neighbours.
                    stats_batch.push((call, json));
                    if stats_batch.len() < STORE_BATCH {
                        next = rx.try_recv().ok();
                        continue;
                    }
                }
                other => {
                    flush_events(&store, &mut event_batch, &mut events_since_prune, &marks).await;
                    flush_calls(&store, &mut batch, &mut since_prune).await;
                    flush_stats(&store, &mut stats_batch).await;
                    apply(&store, other).await;
                    next = rx.try_recv().ok();
                    continue;
                }
            }
            flush_events(&store, &mut event_batch, &mut events_since_prune, &marks).await;
            flush_calls(&store, &mut batch, &mut since_prune).await;
            flush_stats(&store, &mut stats_batch).await;
            next = rx.try_recv().ok();
        }
        flush_events(&store, &mut event_batch, &mut events_since_prune, &marks).await;
        flush_calls(&store, &mut batch, &mut since_prune).await;
        flush_stats(&store, &mut stats_batch).await;
        if events_since_prune >= 1000 {
            events_since_prune = 0;
            let before = chrono::Utc::now() - chrono::Duration::hours(i64::from(events.keep_hours));
            if let Err(e) = store
                .prune_events(events.keep, before, marks.prune_floor())
                .await
            {
                tracing::error!(error = %e, "pruning events failed");
            }
        }
        if since_prune >= 1000 {
            since_prune = 0;
            if let Err(e) = store.prune_call_records(keep).await {
                tracing::error!(error = %e, "pruning call records failed");
            }
        }
    }
}

async fn flush_events(
    store: &Store,
    batch: &mut Vec<callwire_store::EventRecord>,
    since_prune: &mut usize,
    marks: &LogMarks,
) {
    if batch.is_empty() {
        return;
    }
    *since_prune += batch.len();
    match store.insert_events(batch).await {
        Ok(()) => {
            if let Some(last) = batch.last() {
                marks.set_stored(last.seq);
            }
        }
        Err(e) => tracing::error!(error = %e, events = batch.len(), "saving events failed"),
    }
    batch.clear();
}

async fn flush_stats(store: &Store, batch: &mut Vec<(String, String)>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = store.set_calls_media_stats(batch).await {
        tracing::error!(error = %e, calls = batch.len(), "saving media statistics failed");
    }
    batch.clear();
}

async fn flush_calls(
    store: &Store,
    batch: &mut Vec<callwire_store::CallRecord>,
    since_prune: &mut usize,
) {
    if batch.is_empty() {
        return;
    }
    *since_prune += batch.len();
    if let Err(e) = store.upsert_call_records(batch).await {
        tracing::error!(error = %e, records = batch.len(), "saving call records failed");
    }
    batch.clear();
}

async fn apply(store: &Store, op: Output) {
    let result = match op {
        Output::SaveAccount(record) => match store.get_account(&record.id).await {
            Ok(Some(_)) => store.update_account(&record).await,
            Ok(None) => store.insert_account(&record).await,
            Err(e) => Err(e),
        },
        Output::DeleteAccount(id) => match store.delete_account(&id).await {
            Err(callwire_store::StoreError::NotFound { .. }) => Ok(()),
            other => other,
        },
        Output::SaveRecording(record) => store.upsert_recording(&record).await,
        Output::SaveDtmfConfiguration(c) => store.upsert_dtmf_configuration(&c).await,
        Output::DeleteDtmfConfiguration(id) => store.delete_dtmf_configuration(&id).await,
        Output::SaveDtmfTrigger(t) => store.upsert_dtmf_trigger(&t).await,
        Output::DeleteDtmfTrigger(id) => store.delete_dtmf_trigger(&id).await,
        _ => Ok(()),
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "store write failed");
    }
}
