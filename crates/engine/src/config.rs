//! Engine settings, with the defaults documented in `docs/configuration.md`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

/// Everything the engine needs to know at start.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Address SIP binds on UDP and TCP.
    pub sip_bind: SocketAddr,
    /// Address written into Via, Contact and SDP; derived from `sip_bind` when unset.
    pub advertised_address: Option<IpAddr>,
    /// RFC 3261 timers.
    pub timers: TimersConfig,
    /// Call limits and timeouts.
    pub calls: CallsConfig,
    /// RTP port range.
    pub rtp: RtpConfig,
    /// Media engine settings.
    pub media: MediaConfig,
    /// Event retention.
    pub events: EventsConfig,
    /// Webhook delivery.
    pub webhooks: WebhooksConfig,
    /// Input limits.
    pub limits: LimitsConfig,
    /// `User-Agent`/`Server` header value.
    pub user_agent: String,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            sip_bind: SocketAddr::from(([0, 0, 0, 0], 5060)),
            advertised_address: None,
            timers: TimersConfig::default(),
            calls: CallsConfig::default(),
            rtp: RtpConfig::default(),
            media: MediaConfig::default(),
            events: EventsConfig::default(),
            webhooks: WebhooksConfig::default(),
            limits: LimitsConfig::default(),
            user_agent: format!("callwire/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// RFC 3261 §17 timer base values.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TimersConfig {
    /// T1 in milliseconds (RTT estimate).
    pub t1_ms: u64,
    /// T2 in milliseconds (maximum retransmit interval).
    pub t2_ms: u64,
    /// T4 in milliseconds (maximum time a message stays in the network).
    pub t4_ms: u64,
}

impl Default for TimersConfig {
    fn default() -> TimersConfig {
        TimersConfig {
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
        }
    }
}

/// Call limits and timeouts.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// Outgoing: cancel after this many seconds without an answer.
    pub ring_timeout_secs: u32,
    /// Incoming: answer 480 after this many seconds without an answer.
    pub answer_timeout_secs: u32,
    /// Calls at once; more incoming INVITEs get 503.
    pub max_concurrent: u32,
    /// Call records kept in the store.
    pub keep_records: u32,
}

impl Default for CallsConfig {
    fn default() -> CallsConfig {
        CallsConfig {
            ring_timeout_secs: 60,
            answer_timeout_secs: 60,
            max_concurrent: 1000,
            keep_records: 10_000,
        }
    }
}

impl CallsConfig {
    /// `ring_timeout_secs` as a duration.
    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_secs.into())
    }

    /// `answer_timeout_secs` as a duration.
    pub fn answer_timeout(&self) -> Duration {
        Duration::from_secs(self.answer_timeout_secs.into())
    }
}

/// RTP port range.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RtpConfig {
    /// First port (RTP uses even ports, RTCP the odd one above).
    pub port_start: u16,
    /// How many ports the range spans.
    pub port_count: u16,
}

impl Default for RtpConfig {
    fn default() -> RtpConfig {
        RtpConfig {
            port_start: 20000,
            port_count: 10000,
        }
    }
}

/// How long events stay replayable.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Events kept at most (older ones are pruned).
    pub keep: u32,
    /// Events older than this many hours are pruned.
    pub keep_hours: u32,
}

impl Default for EventsConfig {
    fn default() -> EventsConfig {
        EventsConfig {
            keep: 100_000,
            keep_hours: 24 * 7,
        }
    }
}

/// Webhook delivery: retries, timeouts and the outbox bound.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Attempts per event before it is parked as failed.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles with every further one.
    pub initial_backoff_ms: u64,
    /// The wait between attempts never grows beyond this.
    pub max_backoff_ms: u64,
    /// An attempt without a complete response within this time failed.
    pub timeout_ms: u64,
    /// Events a webhook may fall behind the stream at most (its outbox);
    /// beyond that the oldest undelivered events are pruned like any other
    /// and the webhook reports the gap as skipped.
    pub max_backlog: u64,
    /// Webhooks at most.
    pub max_webhooks: usize,
}

impl Default for WebhooksConfig {
    fn default() -> WebhooksConfig {
        WebhooksConfig {
            max_attempts: 12,
            initial_backoff_ms: 1000,
            max_backoff_ms: 300_000,
            timeout_ms: 10_000,
            max_backlog: 100_000,
            max_webhooks: 32,
        }
    }
}

/// Media engine settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// A call whose peer sends no RTP for this many seconds (while we expect
    /// some, i.e. not on hold) is ended with reason `MediaTimeout`; 0 disables.
    pub timeout_secs: u32,
    /// Jitter buffer delay bounds in milliseconds.
    pub jitter_min_ms: u32,
    /// See `jitter_min_ms`.
    pub jitter_max_ms: u32,
    /// Detect DTMF tones in the received audio (as well as RFC 4733 and INFO).
    pub detect_inband_dtmf: bool,
    /// Where recordings are written (default: `<data-dir>/recordings`).
    pub recordings_dir: Option<std::path::PathBuf>,
    /// Where `play {"file": ...}` looks for WAV files (default: `<data-dir>/prompts`).
    pub prompts_dir: Option<std::path::PathBuf>,
    /// Longest WAV file `play` accepts, in seconds.
    pub max_play_secs: u32,
}

impl MediaConfig {
    /// Where recordings go.
    pub fn recordings_dir(&self) -> std::path::PathBuf {
        self.recordings_dir
            .clone()
            .unwrap_or_else(|| "callwire-data/recordings".into())
    }

    /// Where prompts are read from.
    pub fn prompts_dir(&self) -> std::path::PathBuf {
        self.prompts_dir
            .clone()
            .unwrap_or_else(|| "callwire-data/prompts".into())
    }
}

impl Default for MediaConfig {
    fn default() -> MediaConfig {
        MediaConfig {
            timeout_secs: 30,
            jitter_min_ms: 20,
            jitter_max_ms: 200,
            detect_inband_dtmf: true,
            recordings_dir: None,
            prompts_dir: None,
            max_play_secs: 600,
        }
    }
}

/// Input limits.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest SIP message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Idle TCP connections are closed after this many seconds.
    pub tcp_idle_secs: u64,
    /// TCP connections at once.
    pub max_tcp_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_message_bytes: 65535,
            tcp_idle_secs: 300,
            max_tcp_connections: 1024,
        }
    }
}
