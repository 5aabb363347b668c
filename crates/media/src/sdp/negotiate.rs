//! RFC 3264 offer/answer for a single audio stream over RTP/AVP.
//!
//! Codec choice follows the local preference list; telephone-event (RFC 4733)
//! rides along with the payload type the remote side chose. Streams we do not
//! take are answered with port 0 (RFC 3264 §6). Everything here is pure: the
//! caller supplies session ids and versions.

use std::net::{IpAddr, SocketAddr};

use super::{
    addr_type_of, Attribute, CodecSpec, Connection, Direction, MediaDescription, NegotiationError,
    Origin, SessionDescription,
};

/// Payload type used for telephone-event when the caller does not choose one.
const DEFAULT_TELEPHONE_EVENT_PT: u8 = 101;
/// RTP packetization time assumed when the remote side sends no `a=ptime`.
const DEFAULT_PTIME_MS: u32 = 20;
/// DTMF events we can send and receive: digits 0-9, *, #, A-D, flash.
const TELEPHONE_EVENT_FMTP: &str = "0-16";
/// The only transport we answer.
const RTP_AVP: &str = "RTP/AVP";
/// First dynamic RTP payload type (RFC 3551).
const FIRST_DYNAMIC_PT: u8 = 96;

/// What the local side offers or accepts for audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address written into `o=` and `c=`.
    pub ip: IpAddr,
    /// Local RTP port.
    pub rtp_port: u16,
    /// Codecs in priority order, best first. Codecs without a static payload
    /// type get dynamic ones (96 and up) in offers.
    pub codecs: Vec<CodecSpec>,
    /// Payload type for telephone-event in offers (should be 96-127); `None`
    /// disables RFC 4733 DTMF entirely.
    pub telephone_event_pt: Option<u8>,
    /// Directions the local side allows (e.g. `SendOnly` to put the peer on hold).
    pub direction: Direction,
    /// Packetization time we ask the peer to send, in ms; `None` omits `a=ptime`.
    pub ptime: Option<u32>,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version; bump it for every new offer in a dialog.
    pub session_version: u64,
    /// `o=` user name (`-` is fine).
    pub username: String,
}

impl LocalMedia {
    /// Defaults: PCMU then PCMA, telephone-event on 101, sendrecv, ptime 20,
    /// session id and version 0, user name `-`.
    pub fn new(ip: IpAddr, rtp_port: u16) -> LocalMedia {
        LocalMedia {
            ip,
            rtp_port,
            codecs: vec![CodecSpec::PCMU, CodecSpec::PCMA],
            telephone_event_pt: Some(DEFAULT_TELEPHONE_EVENT_PT),
            direction: Direction::SendRecv,
            ptime: Some(DEFAULT_PTIME_MS),
            session_id: 0,
            session_version: 0,
            username: "-".to_owned(),
        }
    }
}

/// The outcome of a successful offer/answer exchange, from our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP: the remote `c=` address (media level, else session
    /// level) and the remote `m=` port.
    pub remote_addr: SocketAddr,
    /// Where to send RTCP when the remote gave `a=rtcp`; otherwise the caller
    /// uses the RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    /// The audio codec.
    pub codec: CodecSpec,
    /// Payload type to send the codec with (the remote side's number).
    pub payload_type: u8,
    /// Payload type for telephone-event, if both sides support it.
    pub telephone_event_pt: Option<u8>,
    /// Our direction: `SendOnly` means we send and do not expect media.
    pub direction: Direction,
    /// The remote side's declared direction for the stream.
    pub remote_direction: Direction,
    /// Packetization time the remote side asked for, in ms (default 20).
    pub ptime: u32,
}

impl Negotiated {
    /// True when media does not flow both ways because of a hold on either
    /// side: our direction is not sendrecv, or the remote address is the
    /// RFC 2543 hold address (`0.0.0.0` / `::`).
    pub fn is_hold(&self) -> bool {
        self.direction != Direction::SendRecv || self.remote_addr.ip().is_unspecified()
    }

    /// True when the remote side put the call on hold: it declared sendonly
    /// or inactive, or gave the hold address `0.0.0.0` / `::`.
    pub fn is_remote_hold(&self) -> bool {
        matches!(
            self.remote_direction,
            Direction::SendOnly | Direction::Inactive
        ) || self.remote_addr.ip().is_unspecified()
    }
}

/// `o=`, `s=`, `c=` and `t=0 0` for a local description.
fn local_session(local: &LocalMedia) -> SessionDescription {
    let origin = Origin {
        username: local.username.clone(),
        session_id: local.session_id,
        session_version: local.session_version,
        net_type: "IN".to_owned(),
        addr_type: addr_type_of(local.ip).to_owned(),
        address: local.ip.to_string(),
    };
    let mut sdp = SessionDescription::new(origin, "callwire");
    sdp.connection = Some(Connection::from_ip(local.ip));
    sdp
}

/// Adds a payload type with its rtpmap (and fmtp for telephone-event).
fn push_format(m: &mut MediaDescription, codec: &CodecSpec, pt: u8) {
    m.formats.push(pt.to_string());
    m.attributes
        .push(Attribute::with_value("rtpmap", codec.rtpmap_value(pt)));
    if codec.is_telephone_event() {
        m.attributes.push(Attribute::with_value(
            "fmtp",
            format!("{pt} {TELEPHONE_EVENT_FMTP}"),
        ));
    }
}

/// `a=ptime` and the direction attribute, which close our audio m-line.
fn push_trailer(m: &mut MediaDescription, ptime: Option<u32>, direction: Direction) {
    if let Some(ptime) = ptime {
        m.attributes
            .push(Attribute::with_value("ptime", ptime.to_string()));
    }
    m.attributes.push(Attribute::flag(direction.as_str()));
}

/// Builds an audio offer: one `m=audio` line with the local codecs in order
/// (rtpmap lines also for static payload types), telephone-event, ptime and
/// direction. Codecs listed twice, or whose static payload type equals the
/// telephone-event one, are skipped; so are dynamic codecs once 96-127 run out.
pub fn build_offer(local: &LocalMedia) -> SessionDescription {
    let mut sdp = local_session(local);
    let mut m = MediaDescription::new("audio", local.rtp_port, RTP_AVP, Vec::new());
    let mut used: Vec<u8> = local.telephone_event_pt.into_iter().collect();
    let mut added: Vec<&CodecSpec> = Vec::new();
    let mut next_dynamic = FIRST_DYNAMIC_PT;
    for codec in &local.codecs {
        if codec.is_telephone_event() || added.contains(&codec) {
            continue;
        }
        let pt = match codec.static_pt {
            Some(pt) if !used.contains(&pt) => pt,
            Some(_) => continue,
            None => {
                while next_dynamic < 128 && used.contains(&next_dynamic) {
                    next_dynamic += 1;
                }
                if next_dynamic >= 128 {
                    continue;
                }
                next_dynamic
            }
        };
        used.push(pt);
        added.push(codec);
        push_format(&mut m, codec, pt);
    }
    if let Some(pt) = local.telephone_event_pt {
        push_format(&mut m, &CodecSpec::TELEPHONE_EVENT, pt);
    }
    push_trailer(&mut m, local.ptime, local.direction);
    sdp.media.push(m);
    sdp
}

/// Whether a media section is an enabled audio stream over RTP/AVP.
fn is_usable_audio(m: &MediaDescription) -> bool {
    m.media.eq_ignore_ascii_case("audio") && m.port != 0 && m.proto.eq_ignore_ascii_case(RTP_AVP)
}

/// The first local codec (in local order) the media section offers, with the
/// section's payload type for it.
fn choose_codec(m: &MediaDescription, codecs: &[CodecSpec]) -> Option<(CodecSpec, u8)> {
    codecs
        .iter()
        .filter(|c| !c.is_telephone_event())
        .find_map(|codec| {
            m.payload_types()
                .find(|pt| m.codec(*pt).is_some_and(|map| codec.matches(&map)))
                .map(|pt| (codec.clone(), pt))
        })
}

/// The section's telephone-event payload type at the given clock rate.
fn telephone_event_pt(m: &MediaDescription, clock_rate: u32) -> Option<u8> {
    m.payload_types().find(|pt| {
        m.codec(*pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == clock_rate
        })
    })
}

/// RTP and RTCP destinations of a remote media section.
fn remote_addrs(
    sdp: &SessionDescription,
    m: &MediaDescription,
) -> Result<(SocketAddr, Option<SocketAddr>), NegotiationError> {
    let conn = sdp
        .media_connection(m)
        .ok_or(NegotiationError::MissingConnection)?;
    let ip = conn
        .ip()
        .ok_or_else(|| NegotiationError::InvalidConnectionAddress {
            address: conn.address.clone(),
        })?;
    let rtcp = m.rtcp().map(|r| {
        let rtcp_ip = r.connection.and_then(|c| c.ip()).unwrap_or(ip);
        SocketAddr::new(rtcp_ip, r.port)
    });
    Ok((SocketAddr::new(ip, m.port), rtcp))
}

/// The remote side's direction, with "does not receive" added when it gave
/// the RFC 2543 hold address: we cannot send to `0.0.0.0`.
fn remote_direction(sdp: &SessionDescription, m: &MediaDescription, addr: SocketAddr) -> Direction {
    let declared = sdp.media_direction(m);
    if addr.ip().is_unspecified() {
        declared.intersect(Direction::SendOnly)
    } else {
        declared
    }
}

fn ptime_of(sdp: &SessionDescription, m: &MediaDescription) -> u32 {
    sdp.media_ptime(m)
        .filter(|p| *p > 0)
        .unwrap_or(DEFAULT_PTIME_MS)
}

/// Answers an offer. Takes the first RTP/AVP audio stream that shares a codec
/// with `local.codecs`, choosing by local priority; every other stream is
/// answered with port 0 and its offered format list. On error the caller
/// should reject the offer with 488.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(SessionDescription, Negotiated), NegotiationError> {
    let mut saw_audio = false;
    let chosen = offer.media.iter().enumerate().find_map(|(idx, m)| {
        if !is_usable_audio(m) {
            return None;
        }
        saw_audio = true;
        choose_codec(m, &local.codecs).map(|(codec, pt)| (idx, m, codec, pt))
    });
    let Some((chosen_idx, offered, codec, pt)) = chosen else {
        return Err(if saw_audio {
            NegotiationError::NoCommonCodec
        } else {
            NegotiationError::NoAudioMedia
        });
    };

    let (remote_addr, remote_rtcp) = remote_addrs(offer, offered)?;
    let te_pt = local
        .telephone_event_pt
        .and_then(|_| telephone_event_pt(offered, codec.clock_rate));
    let their_direction = remote_direction(offer, offered, remote_addr);
    let our_direction = their_direction.reversed().intersect(local.direction);

    let mut sdp = local_session(local);
    for (idx, m) in offer.media.iter().enumerate() {
        if idx != chosen_idx {
            sdp.media.push(MediaDescription::new(
                m.media.clone(),
                0,
                m.proto.clone(),
                m.formats.clone(),
            ));
            continue;
        }
        let mut ours =
            MediaDescription::new(m.media.clone(), local.rtp_port, m.proto.clone(), Vec::new());
        push_format(&mut ours, &codec, pt);
        if let Some(te) = te_pt {
            push_format(&mut ours, &CodecSpec::TELEPHONE_EVENT, te);
        }
        push_trailer(&mut ours, local.ptime, our_direction);
        sdp.media.push(ours);
    }

    let negotiated = Negotiated {
        remote_addr,
        remote_rtcp,
        codec,
        payload_type: pt,
        telephone_event_pt: te_pt,
        direction: our_direction,
        remote_direction: offer.media_direction(offered),
        ptime: ptime_of(offer, offered),
    };
    Ok((sdp, negotiated))
}

/// Reads the answer to an offer we sent. The codec is the first one in the
/// answer's format list that we offered; its payload type is the answer's.
pub fn accept_answer(
    offer_we_sent: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    if offer_we_sent.media.len() != answer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offer: offer_we_sent.media.len(),
            answer: answer.media.len(),
        });
    }
    let mut offered_audio = false;
    let pair = offer_we_sent
        .media
        .iter()
        .zip(&answer.media)
        .find(|(ours, theirs)| {
            let usable = is_usable_audio(ours);
            offered_audio |= usable;
            usable && theirs.port != 0 && theirs.media.eq_ignore_ascii_case(&ours.media)
        });
    let Some((ours, theirs)) = pair else {
        return Err(if offered_audio {
            NegotiationError::NoCommonCodec
        } else {
            NegotiationError::NoAudioMedia
        });
    };

    // The answer's mapping wins; fall back to ours if it omitted an rtpmap.
    let resolve = |pt: u8| theirs.rtpmap(pt).or_else(|| ours.codec(pt));
    // Our own description of a codec the answer names, if we offered it.
    let offered = |pt: u8| {
        let answered = CodecSpec::from_rtpmap(&resolve(pt)?);
        ours.payload_types()
            .filter_map(|p| ours.codec(p))
            .find(|map| answered.matches(map))
            .map(|map| CodecSpec::from_rtpmap(&map))
    };
    let (codec, pt) = theirs
        .payload_types()
        .find_map(|pt| {
            offered(pt)
                .filter(|c| !c.is_telephone_event())
                .map(|c| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    let te_pt = theirs.payload_types().find(|pt| {
        offered(*pt).is_some_and(|c| c.is_telephone_event() && c.clock_rate == codec.clock_rate)
    });

    let (remote_addr, remote_rtcp) = remote_addrs(answer, theirs)?;
    let their_direction = remote_direction(answer, theirs, remote_addr);
    let our_direction = their_direction
        .reversed()
        .intersect(offer_we_sent.media_direction(ours));

    Ok(Negotiated {
        remote_addr,
        remote_rtcp,
        codec,
        payload_type: pt,
        telephone_event_pt: te_pt,
        direction: our_direction,
        remote_direction: answer.media_direction(theirs),
        ptime: ptime_of(answer, theirs),
    })
}
