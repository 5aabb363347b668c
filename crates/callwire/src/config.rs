//! Settings: flags win over environment variables, which win over the TOML file,
//! which wins over the defaults (see `docs/configuration.md`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use callwire_engine::config::{
    CallsConfig, EventsConfig, LimitsConfig, MediaConfig, RtpConfig, TimersConfig, WebhooksConfig,
};
use callwire_engine::EngineConfig;
use serde::Deserialize;

/// `callwire serve` flags; clap reads each flag's environment twin too.
#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "CALLWIRE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the database and the generated API token.
    #[arg(long, env = "CALLWIRE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `postgres://user:password@host:port/database` or
    /// `sqlite:PATH` (default: SQLite in `<data-dir>/callwire.db`).
    #[arg(long, env = "CALLWIRE_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// HTTP listen address.
    #[arg(long, env = "CALLWIRE_HTTP")]
    pub http: Option<SocketAddr>,
    /// SIP listen address (UDP and TCP).
    #[arg(long, env = "CALLWIRE_SIP")]
    pub sip: Option<SocketAddr>,
}

/// The TOML file's shape; every key is optional.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database: Option<String>,
    http: Option<SocketAddr>,
    sip: Option<SocketAddr>,
    advertised_address: Option<IpAddr>,
    #[serde(default)]
    sip_timers: TimersConfig,
    #[serde(default)]
    calls: CallsConfig,
    #[serde(default)]
    rtp: RtpConfig,
    #[serde(default)]
    media: MediaConfig,
    #[serde(default)]
    events: EventsConfig,
    #[serde(default)]
    webhooks: WebhooksConfig,
    #[serde(default)]
    limits: LimitsConfig,
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The store's URL; `None` is SQLite in the data directory.
    pub database: Option<String>,
    pub http: SocketAddr,
    pub engine: EngineConfig,
}

impl Config {
    /// Layers flags/env over the file over the defaults.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        Ok(Config::merge(args, file))
    }

    fn merge(args: &ServeArgs, file: FileConfig) -> Config {
        let defaults = EngineConfig::default();
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./callwire-data"));
        // Media directories default to folders of the data directory.
        let mut media = file.media;
        media
            .recordings_dir
            .get_or_insert_with(|| data_dir.join("recordings"));
        media
            .prompts_dir
            .get_or_insert_with(|| data_dir.join("prompts"));
        let engine = EngineConfig {
            sip_bind: args.sip.or(file.sip).unwrap_or(defaults.sip_bind),
            advertised_address: file.advertised_address,
            timers: file.sip_timers,
            calls: file.calls,
            rtp: file.rtp,
            media,
            events: file.events,
            webhooks: file.webhooks,
            limits: file.limits,
            user_agent: defaults.user_agent,
        };
        Config {
            data_dir,
            database: args.database.clone().or(file.database),
            http: args
                .http
                .or(file.http)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            engine,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_which_wins_over_defaults() {
        let file: FileConfig = toml::from_str(
            "http = \"127.0.0.1:9000\"\nsip = \"127.0.0.1:5999\"\ndata_dir = \"/tmp/x\"\n[calls]\nring_timeout_secs = 5\n",
        )
        .unwrap();
        let args = ServeArgs {
            sip: Some("127.0.0.1:6000".parse().unwrap()),
            ..Default::default()
        };
        let c = Config::merge(&args, file);
        assert_eq!(c.engine.sip_bind, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(c.http, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.engine.calls.ring_timeout_secs, 5);
        assert_eq!(c.engine.calls.answer_timeout_secs, 60);
        let d = Config::merge(&ServeArgs::default(), FileConfig::default());
        assert_eq!(d.http, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(d.engine.sip_bind, "0.0.0.0:5060".parse().unwrap());
        assert_eq!(d.data_dir, PathBuf::from("./callwire-data"));
        assert_eq!(d.database, None);
    }

    #[test]
    fn database_flag_wins_over_the_file() {
        let file = || -> FileConfig {
            toml::from_str("database = \"postgres://cw@db.example/callwire\"\n").unwrap()
        };
        let c = Config::merge(&ServeArgs::default(), file());
        assert_eq!(
            c.database.as_deref(),
            Some("postgres://cw@db.example/callwire")
        );
        let args = ServeArgs {
            database: Some("sqlite:/var/lib/callwire/c.db".into()),
            ..Default::default()
        };
        let c = Config::merge(&args, file());
        assert_eq!(c.database.as_deref(), Some("sqlite:/var/lib/callwire/c.db"));
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<FileConfig>("htp = \"x\"").is_err());
        assert!(toml::from_str::<FileConfig>("[calls]\nring = 1").is_err());
    }
}
