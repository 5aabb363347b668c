//! SIP sockets: one UDP socket and one TCP listener on the same address.
//!
//! Reader tasks parse what arrives (parsing is pure and runs off the core task) and
//! hand whole messages to the core through a bounded queue. Malformed requests are
//! answered statelessly here with the parser's 400/505, so bad input never reaches
//! the core. TCP connections are kept in a table keyed by the peer's address, reused
//! for responses and for new requests to the same peer, capped in number and closed
//! when idle. CRLFCRLF keep-alive pings get a CRLF pong (RFC 5626 §3.5.1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callwire_sip::message::Message;
use callwire_sip::parse::{self, Frame, Limits};
use callwire_sip::transaction::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// A message from the network for the core.
#[derive(Debug)]
pub struct Inbound {
    /// The parsed message.
    pub message: Message,
    /// Who sent it.
    pub source: SocketAddr,
    /// Over what.
    pub transport: Transport,
}

/// Outbound side of the sockets, shared by the core and the reader tasks.
#[derive(Clone)]
pub struct Sockets {
    udp: Arc<UdpSocket>,
    tcp: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
    inbound: mpsc::Sender<Inbound>,
    limits: Limits,
    idle: Duration,
    max_connections: usize,
}

/// Writes queued per TCP connection before a slow peer counts as stuck.
const TCP_WRITE_QUEUE: usize = 256;
/// A write that takes longer than this ends the connection.
const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After a framing error, how long the connection stays open for answers to the
/// messages that preceded the bad bytes.
const FRAMING_ERROR_LINGER: Duration = Duration::from_millis(500);

/// Why a connection's reader stopped.
#[derive(Debug, PartialEq, Eq)]
enum Closed {
    ByPeer,
    Idle,
    FramingError,
}

impl Sockets {
    /// Binds UDP and TCP on `addr` (TCP on the port UDP got when `addr` has port 0).
    pub async fn bind(
        addr: SocketAddr,
        inbound: mpsc::Sender<Inbound>,
        max_message: usize,
        idle: Duration,
        max_connections: usize,
    ) -> std::io::Result<(Sockets, TcpListener)> {
        let udp = UdpSocket::bind(addr).await?;
        let tcp_addr = SocketAddr::new(addr.ip(), udp.local_addr()?.port());
        let listener = TcpListener::bind(tcp_addr).await?;
        let limits = Limits {
            max_message,
            ..Limits::default()
        };
        let sockets = Sockets {
            udp: Arc::new(udp),
            tcp: Arc::new(Mutex::new(HashMap::new())),
            inbound,
            limits,
            idle,
            max_connections,
        };
        Ok((sockets, listener))
    }

    /// The UDP socket's address.
    pub fn udp_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }

    /// Sends bytes; TCP reuses a connection to `dest` or opens one.
    pub fn send(&self, transport: Transport, dest: SocketAddr, bytes: Vec<u8>) {
        match transport {
            Transport::Udp => {
                if let Err(e) = self.udp.try_send_to(&bytes, dest) {
                    tracing::debug!(%dest, error = %e, "UDP send failed");
                }
            }
            _ => self.send_tcp(dest, bytes),
        }
    }

    fn send_tcp(&self, dest: SocketAddr, bytes: Vec<u8>) {
        let existing = self.tcp.lock().ok().and_then(|t| t.get(&dest).cloned());
        if let Some(tx) = existing {
            if tx.try_send(bytes).is_ok() {
                return;
            }
            tracing::debug!(%dest, "TCP connection stuck or closed; dropping message");
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(dest)).await {
                Ok(Ok(stream)) => {
                    if let Some(tx) = this.adopt(stream, dest) {
                        let _ = tx.try_send(bytes);
                    }
                }
                _ => tracing::debug!(%dest, "TCP connect failed"),
            }
        });
    }

    /// Registers a connection and starts its reader and writer; `None` over the cap.
    fn adopt(&self, stream: TcpStream, peer: SocketAddr) -> Option<mpsc::Sender<Vec<u8>>> {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_WRITE_QUEUE);
        {
            let mut table = self.tcp.lock().ok()?;
            if table.len() >= self.max_connections {
                tracing::warn!(%peer, "TCP connection limit reached; refusing connection");
                return None;
            }
            table.insert(peer, tx.clone());
        }
        let _ = stream.set_nodelay(true);
        let (mut read, mut write) = stream.into_split();
        // The writer ends once every sender is gone and the queue is written out,
        // so answers the core is still producing are not cut off.
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                match tokio::time::timeout(TCP_WRITE_TIMEOUT, write.write_all(&bytes)).await {
                    Ok(Ok(())) => {}
                    _ => break,
                }
            }
            let _ = write.shutdown().await;
        });
        let this = self.clone();
        let pong = tx.clone();
        tokio::spawn(async move {
            if this.read_stream(&mut read, peer, &pong).await == Closed::FramingError {
                // Let the core answer what came before the unframeable bytes.
                tokio::time::sleep(FRAMING_ERROR_LINGER).await;
            }
            if let Ok(mut table) = this.tcp.lock() {
                if table.get(&peer).is_some_and(|t| t.same_channel(&pong)) {
                    table.remove(&peer);
                }
            }
        });
        Some(tx)
    }

    async fn read_stream(
        &self,
        read: &mut tokio::net::tcp::OwnedReadHalf,
        peer: SocketAddr,
        tx: &mpsc::Sender<Vec<u8>>,
    ) -> Closed {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 16 * 1024];
        // Remembers how far it scanned, so a message arriving in pieces is scanned once.
        let mut framer = parse::StreamFramer::new(self.limits.clone());
        loop {
            // Frame everything already buffered before reading more.
            loop {
                match framer.next_frame(&buf) {
                    Frame::Incomplete => break,
                    Frame::Ping { len } => {
                        let _ = tx.try_send(b"\r\n".to_vec());
                        buf.drain(..len);
                    }
                    Frame::KeepAlive { len } => {
                        buf.drain(..len);
                    }
                    Frame::Message { len } => {
                        let bytes: Vec<u8> = buf.drain(..len).collect();
                        self.deliver(&bytes, peer, Transport::Tcp, |resp| {
                            let _ = tx.try_send(resp);
                        })
                        .await;
                    }
                    Frame::Error(e) => {
                        if let Some(resp) = parse::error_response(&buf, &e) {
                            let _ = tx.try_send(resp);
                        }
                        tracing::debug!(%peer, error = %e, "unrecoverable TCP framing error; closing");
                        return Closed::FramingError;
                    }
                }
            }
            match tokio::time::timeout(self.idle, read.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Closed::ByPeer,
                Err(_) => {
                    tracing::debug!(%peer, "closing idle TCP connection");
                    return Closed::Idle;
                }
                Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    }

    /// Parses one message and queues it for the core, or answers the parse error.
    async fn deliver(
        &self,
        bytes: &[u8],
        source: SocketAddr,
        transport: Transport,
        reply: impl FnOnce(Vec<u8>),
    ) {
        match parse::parse_datagram(bytes, &self.limits) {
            Ok(message) => {
                let inbound = Inbound {
                    message,
                    source,
                    transport,
                };
                // A full queue means the core is overloaded: UDP peers retransmit,
                // so dropping is the right back-pressure; log it once in a while.
                if self.inbound.try_send(inbound).is_err() {
                    tracing::warn!(%source, "core queue full; dropping SIP message");
                }
            }
            Err(e) => {
                tracing::debug!(%source, error = %e, "malformed SIP message");
                if let Some(resp) = parse::error_response(bytes, &e) {
                    reply(resp);
                }
            }
        }
    }

    /// Waits for the next datagram and turns it into a message for the core (see
    /// [`Sockets::take_datagram`]). Cancel-safe: the core's loop selects on it.
    pub async fn recv_udp(&self, buf: &mut [u8]) -> Option<Inbound> {
        match self.udp.recv_from(buf).await {
            Ok((n, source)) => self.take_datagram(buf.get(..n)?, source),
            Err(e) => {
                // ICMP errors surface here on some systems; keep serving.
                tracing::debug!(error = %e, "UDP receive error");
                None
            }
        }
    }

    /// A datagram already waiting, without blocking: `Err(())` when none is.
    pub fn try_recv_udp(&self, buf: &mut [u8]) -> Result<Option<Inbound>, ()> {
        match self.udp.try_recv_from(buf) {
            Ok((n, source)) => Ok(buf.get(..n).and_then(|d| self.take_datagram(d, source))),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(()),
            Err(_) => Ok(None),
        }
    }

    /// Parses one datagram. Malformed requests are answered here, statelessly;
    /// keep-alive CRLFs and garbage give `None`.
    ///
    /// UDP is read by the core's own loop rather than a reader task: handing every
    /// datagram to another task cost a thread wake-up per message, which under load
    /// was a third of the CPU time.
    fn take_datagram(&self, datagram: &[u8], source: SocketAddr) -> Option<Inbound> {
        if datagram.iter().all(|b| *b == b'\r' || *b == b'\n') {
            return None;
        }
        match parse::parse_datagram(datagram, &self.limits) {
            Ok(message) => Some(Inbound {
                message,
                source,
                transport: Transport::Udp,
            }),
            Err(e) => {
                tracing::debug!(%source, error = %e, "malformed SIP message");
                if let Some(resp) = parse::error_response(datagram, &e) {
                    let _ = self.udp.try_send_to(&resp, source);
                }
                None
            }
        }
    }

    /// Accepts TCP connections until the listener fails.
    pub async fn run_tcp(self, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    self.adopt(stream, peer);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "TCP accept error");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}
