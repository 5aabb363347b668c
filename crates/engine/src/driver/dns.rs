//! Locating SIP servers (RFC 3263): IP literals are used as they are; a name with a
//! port is looked up for A/AAAA; a name without one is looked up for SRV
//! (`_sip._udp`, `_sip._tcp`, `_sips._tcp`), then A/AAAA on port 5060 (5061 for
//! SIPS). NAPTR is not consulted: the URI's `transport` parameter or the account's
//! transport picks the protocol.

use std::net::SocketAddr;
use std::sync::OnceLock;

use callwire_sip::message::{Host, SipUri};
use callwire_sip::transaction::Transport;
use hickory_resolver::TokioAsyncResolver;

use crate::EngineError;

/// Where to send requests for a URI, best first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Transport to use.
    pub transport: Transport,
    /// Addresses in order of preference.
    pub addrs: Vec<SocketAddr>,
}

fn resolver() -> &'static TokioAsyncResolver {
    static RESOLVER: OnceLock<TokioAsyncResolver> = OnceLock::new();
    RESOLVER.get_or_init(|| {
        TokioAsyncResolver::tokio_from_system_conf()
            .unwrap_or_else(|_| TokioAsyncResolver::tokio(Default::default(), Default::default()))
    })
}

/// The transport a URI asks for (`;transport=` or SIPS → TCP), or `fallback`.
pub fn transport_for(uri: &SipUri, fallback: Transport) -> Transport {
    match uri.transport_param().as_deref() {
        Some("tcp") | Some("tls") => Transport::Tcp,
        Some("udp") => Transport::Udp,
        _ if uri.secure => Transport::Tcp,
        _ => fallback,
    }
}

/// A URI whose host is an IP literal, without any lookup; `None` for a name.
pub fn resolve_literal(uri: &SipUri, fallback: Transport) -> Option<Resolved> {
    let ip = uri.host.ip()?;
    let default_port = if uri.secure { 5061 } else { 5060 };
    Some(Resolved {
        transport: transport_for(uri, fallback),
        addrs: vec![SocketAddr::new(ip, uri.port.unwrap_or(default_port))],
    })
}

/// Resolves a URI; `fallback` is the transport when the URI names none.
pub async fn resolve_with(uri: &SipUri, fallback: Transport) -> Result<Resolved, EngineError> {
    resolve_using(resolver(), uri, fallback).await
}

/// [`resolve_with`] through a given resolver (tests point one at a local server).
pub async fn resolve_using(
    resolver: &TokioAsyncResolver,
    uri: &SipUri,
    fallback: Transport,
) -> Result<Resolved, EngineError> {
    if let Some(resolved) = resolve_literal(uri, fallback) {
        return Ok(resolved);
    }
    let transport = transport_for(uri, fallback);
    let default_port = if uri.secure { 5061 } else { 5060 };
    let unresolvable =
        |why: String| EngineError::InvalidArgument(format!("cannot resolve {}: {why}", uri.host));
    let name = match &uri.host {
        Host::V4(_) | Host::V6(_) => return Err(unresolvable("no address".into())),
        Host::Name(n) => n.clone(),
    };
    let lookup = async {
        if let Some(port) = uri.port {
            return lookup_ip(resolver, &name, port).await;
        }
        let service = match (uri.secure, transport) {
            (true, _) => "_sips._tcp",
            (false, Transport::Tcp) => "_sip._tcp",
            (false, _) => "_sip._udp",
        };
        // A URI host may already be fully qualified (`sip:example.com.`).
        let domain = name.trim_end_matches('.');
        if let Ok(srv) = resolver.srv_lookup(format!("{service}.{domain}.")).await {
            let mut records: Vec<_> = srv.iter().cloned().collect();
            // RFC 2782: a target of "." means the service is decidedly not available.
            if !records.is_empty() && records.iter().all(|r| r.target().is_root()) {
                return Err(unresolvable(format!("{service} not offered (SRV \".\")")));
            }
            records.retain(|r| !r.target().is_root());
            records.sort_by_key(|r| (r.priority(), std::cmp::Reverse(r.weight())));
            let mut addrs = Vec::new();
            for r in records {
                // Keep the target fully qualified so the search list is not applied to it.
                let target = r.target().to_utf8();
                if let Ok(mut a) = lookup_ip(resolver, &target, r.port()).await {
                    addrs.append(&mut a);
                }
            }
            // RFC 3263 §4.2: once SRV records exist, they are the answer; no
            // fallback to the domain's own address records.
            if addrs.is_empty() && srv.iter().next().is_some() {
                return Err(unresolvable(format!(
                    "no SRV target of {service}.{domain} resolves"
                )));
            }
            if !addrs.is_empty() {
                return Ok(addrs);
            }
        }
        lookup_ip(resolver, &name, default_port).await
    };
    let addrs = tokio::time::timeout(std::time::Duration::from_secs(5), lookup)
        .await
        .map_err(|_| unresolvable("DNS timed out".into()))??;
    Ok(Resolved { transport, addrs })
}

async fn lookup_ip(
    resolver: &TokioAsyncResolver,
    name: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, EngineError> {
    let ips = resolver
        .lookup_ip(name)
        .await
        .map_err(|e| EngineError::InvalidArgument(format!("cannot resolve {name}: {e}")))?;
    let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(ip, port)).collect();
    if addrs.is_empty() {
        return Err(EngineError::InvalidArgument(format!(
            "cannot resolve {name}: no address"
        )));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ip_literals_need_no_lookup() {
        let uri = SipUri::new(Some("bob"), Host::V4([127, 0, 0, 1].into()), Some(5070));
        let r = resolve_with(&uri, Transport::Udp).await.unwrap();
        assert_eq!(r.addrs, vec!["127.0.0.1:5070".parse().unwrap()]);
        assert_eq!(r.transport, Transport::Udp);
        let mut tcp = SipUri::new(None, Host::V6(std::net::Ipv6Addr::LOCALHOST), None);
        tcp.params.set("transport", Some("TCP"));
        let r = resolve_with(&tcp, Transport::Udp).await.unwrap();
        assert_eq!(r.addrs, vec!["[::1]:5060".parse().unwrap()]);
        assert_eq!(r.transport, Transport::Tcp);
    }

    #[tokio::test]
    async fn localhost_resolves_from_the_hosts_file() {
        let uri = SipUri::new(None, Host::Name("localhost".into()), Some(5080));
        let r = resolve_with(&uri, Transport::Udp).await.unwrap();
        assert!(
            r.addrs
                .iter()
                .all(|a| a.port() == 5080 && a.ip().is_loopback()),
            "{r:?}"
        );
    }
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod dns_tests;
