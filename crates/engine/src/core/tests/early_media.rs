//! Early media between two simulated cores: B's 183 Session Progress (the
//! API's `progress`) starts media on both sides before the answer, media
//! controls work while ringing, the 2xx repeats the 183's SDP, a 2xx with
//! another SDP re-targets A's media and one without SDP keeps it, and a caller
//! that refused early media starts nothing before the answer.

use callwire_media::session::{PlaySource, StreamParams};

use super::policy::{events_of, first_invite, place};
use super::*;
use crate::core::MediaOp;
use crate::driver::media::MediaCommand;

/// Hands what one core queued to the other directly (no loss, no log), each
/// message passed through `edit` first, so the receiver's own outputs stay
/// queued for the test to look at.
fn deliver(net: &mut Net, from_a: bool, mut edit: impl FnMut(&mut Message)) {
    let now = net.now();
    let (src, dst) = if from_a {
        (&mut net.a, &mut net.b)
    } else {
        (&mut net.b, &mut net.a)
    };
    let source = if from_a { addr(A_IP) } else { addr(B_IP) };
    for out in src.outputs.drain(..).collect::<Vec<_>>() {
        match out {
            Output::Send {
                transport, bytes, ..
            } => {
                let mut message = parse(&bytes);
                edit(&mut message);
                dst.receive(
                    Inbound {
                        message,
                        source,
                        transport,
                    },
                    now,
                );
            }
            Output::Event(e) => net.events.push((from_a, e)),
            _ => {}
        }
    }
}

/// The streams a core's queued outputs hand to `call`'s media task.
fn streams(core: &Core, call: &str) -> Vec<StreamParams> {
    core.outputs
        .iter()
        .filter_map(|o| match o {
            Output::Media(MediaOp::Command {
                call: c,
                cmd: MediaCommand::Stream(p),
            }) if c == call => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// The SDP body of a response with this status to the INVITE, as sent.
fn invite_response_sdp(core: &Core, code: u16) -> Option<Vec<u8>> {
    core.outputs.iter().find_map(|o| match o {
        Output::Send { bytes, .. } => match parse(bytes) {
            Message::Response(r)
                if r.status.code() == code && r.head.cseq.method == Method::Invite =>
            {
                Some(r.body)
            }
            _ => None,
        },
        _ => None,
    })
}

fn progress(core: &mut Core, now: Instant, id: &str) -> Result<CallView, EngineError> {
    let id = id.to_owned();
    ask(core, now, |reply| Command::Progress { id, reply })
}

fn answer(core: &mut Core, now: Instant, id: &str) -> Result<CallView, EngineError> {
    let id = id.to_owned();
    ask(core, now, |reply| Command::Answer { id, reply })
}

fn play_tone(core: &mut Core, now: Instant, id: &str) -> Result<CallView, EngineError> {
    let request = crate::core::calls::PlayRequest {
        source: PlaySource::Tone(callwire_media::audio::ToneSpec::parse("440/500").expect("tone")),
        looped: false,
    };
    let id = id.to_owned();
    ask(core, now, |reply| Command::Play { id, request, reply })
}

fn dtmf(
    core: &mut Core,
    now: Instant,
    id: &str,
    mode: crate::model::account::DtmfMode,
) -> Result<CallView, EngineError> {
    let id = id.to_owned();
    ask(core, now, |reply| Command::SendDtmf {
        id,
        digits: "1".into(),
        how: crate::core::calls::DtmfSend::Mode(mode),
        reply,
    })
}

/// A calls B (no auto-answer); B sends 183 with SDP and A has early media.
/// Returns A's and B's call ids; B's 183 is already delivered.
fn call_with_progress(net: &mut Net, call: PlaceCall) -> (String, String) {
    let a_id = place(net, call).expect("placed").id;
    let b_id = net.b_incoming().expect("B rings").id;
    let now = net.now();
    let v = progress(&mut net.b, now, &b_id).expect("183 sent");
    assert!(v.early_media && v.state == CallState::Ringing, "{v:?}");
    (a_id, b_id)
}

#[test]
fn progress_starts_media_on_both_sides_before_the_answer() {
    let mut net = Net::new(50, calls(60, 60), calls(60, 60), false);
    let (a_id, b_id) = call_with_progress(
        &mut net,
        PlaceCall {
            account: "default".into(),
            ..Default::default()
        },
    );
    let (a_view, b_view) = (net.a_call(&a_id), net.b_call(&b_id));
    // B: 183 with its SDP answer, its media task gets A's address at once.
    let sdp_183 = invite_response_sdp(&net.b, 183).expect("B sent a 183");
    assert!(
        String::from_utf8_lossy(&sdp_183).contains("m=audio"),
        "183 carries SDP"
    );
    let b_streams = streams(&net.b, &b_id);
    assert_eq!(b_streams.len(), 1, "B's media starts");
    assert_eq!(Some(b_streams[0].remote_rtp.to_string()), a_view.local_rtp);
    // A: the 183's SDP starts its media, still ringing.
    deliver(&mut net, false, |_| {});
    let a_streams = streams(&net.a, &a_id);
    assert_eq!(a_streams.len(), 1, "A's media starts on the 183");
    assert_eq!(Some(a_streams[0].remote_rtp.to_string()), b_view.local_rtp);
    net.pump();
    let a = net.a_call(&a_id);
    assert_eq!(a.state, CallState::Ringing);
    assert!(a.early_media && a.answered_at.is_none(), "{a:?}");
    assert_eq!(a.remote_rtp, b_view.local_rtp);
    assert_eq!(a.codec.as_deref(), Some("PCMU"));
    for (from_a, id) in [(true, &a_id), (false, &b_id)] {
        let early = events_of(&net, from_a, "call.early_media");
        assert_eq!(
            early.len(),
            1,
            "one call.early_media on {}",
            if from_a { "A" } else { "B" }
        );
        assert_eq!(early[0].call.as_deref(), Some(id.as_str()));
        assert_eq!(
            early[0].detail.as_ref().map(|d| d["codec"].clone()),
            Some("PCMU".into())
        );
    }

    // Media controls work while ringing; SIP ones wait for the answer.
    let now = net.now();
    play_tone(&mut net.a, now, &a_id).expect("play during early media");
    dtmf(
        &mut net.a,
        now,
        &a_id,
        crate::model::account::DtmfMode::Rfc4733,
    )
    .expect("RFC 4733 DTMF during early media");
    let info = dtmf(
        &mut net.a,
        now,
        &a_id,
        crate::model::account::DtmfMode::Info,
    );
    assert!(matches!(info, Err(EngineError::Conflict(_))), "{info:?}");
    let id = b_id.clone();
    let (_, rec) = ask(&mut net.b, now, |reply| Command::Recording {
        id,
        action: crate::RecordingAction::Start { split: false },
        reply,
    })
    .expect("recording during early media");
    assert!(rec.is_some());
    let held = hold(&mut net.a, now, &a_id, true);
    assert!(matches!(held, Err(EngineError::Conflict(_))), "{held:?}");
    // A second progress sends the 183 again but starts nothing new.
    progress(&mut net.b, now, &b_id).expect("183 again");
    assert!(streams(&net.b, &b_id).is_empty());
    net.pump();
    assert_eq!(events_of(&net, false, "call.early_media").len(), 1);

    // The answer repeats the 183's SDP.
    let now = net.now();
    answer(&mut net.b, now, &b_id).expect("answered");
    assert_eq!(invite_response_sdp(&net.b, 200), Some(sdp_183));
    net.pump();
    let a = net.a_call(&a_id);
    assert_eq!(a.state, CallState::Active);
    assert_eq!(a.remote_rtp, b_view.local_rtp);
    let kinds: Vec<String> = net
        .events
        .iter()
        .filter(|(a, e)| *a && e.call.as_deref() == Some(a_id.as_str()))
        .map(|(_, e)| e.kind.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            "call.created",
            "call.ringing",
            "call.early_media",
            "call.answered"
        ]
    );
    let again = progress(&mut net.b, now, &b_id);
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    let outgoing = progress(&mut net.a, now, &a_id);
    assert!(
        matches!(outgoing, Err(EngineError::Conflict(_))),
        "{outgoing:?}"
    );
}

/// Moves the SDP's media port of a 200 to the INVITE by 100.
fn move_media_port(m: &mut Message) {
    let Message::Response(r) = m else { return };
    if r.status.code() != 200 || r.head.cseq.method != Method::Invite {
        return;
    }
    let text = String::from_utf8_lossy(&r.body).into_owned();
    let moved: Vec<String> = text
        .lines()
        .map(|l| match l.strip_prefix("m=audio ") {
            Some(rest) => {
                let (port, tail) = rest.split_once(' ').expect("m= line");
                let port: u16 = port.parse().expect("port");
                format!("m=audio {} {tail}", port + 100)
            }
            None => l.to_owned(),
        })
        .collect();
    r.body = (moved.join("\r\n") + "\r\n").into_bytes();
}

#[test]
fn a_2xx_with_another_sdp_retargets_the_early_media() {
    let mut net = Net::new(51, calls(60, 60), calls(60, 60), false);
    let (a_id, b_id) = call_with_progress(
        &mut net,
        PlaceCall {
            account: "default".into(),
            ..Default::default()
        },
    );
    net.pump();
    let early = net.a_call(&a_id).remote_rtp.expect("early remote RTP");
    let now = net.now();
    answer(&mut net.b, now, &b_id).expect("answered");
    deliver(&mut net, false, move_media_port);
    let a_streams = streams(&net.a, &a_id);
    let moved: SocketAddr = early.parse().expect("addr");
    let moved = SocketAddr::new(moved.ip(), moved.port() + 100);
    assert_eq!(a_streams.len(), 1, "{a_streams:?}");
    assert_eq!(a_streams[0].remote_rtp, moved);
    net.pump();
    let a = net.a_call(&a_id);
    assert_eq!(a.state, CallState::Active);
    assert_eq!(a.remote_rtp, Some(moved.to_string()));
}

#[test]
fn a_2xx_without_sdp_keeps_the_18x_answer() {
    for refuse in [false, true] {
        let mut net = Net::new(52, calls(60, 60), calls(60, 60), false);
        let (a_id, b_id) = call_with_progress(
            &mut net,
            PlaceCall {
                account: "default".into(),
                refuse_early_media: refuse,
                ..Default::default()
            },
        );
        deliver(&mut net, false, |_| {});
        assert_eq!(
            streams(&net.a, &a_id).len(),
            usize::from(!refuse),
            "refuse {refuse}"
        );
        net.pump();
        let a = net.a_call(&a_id);
        assert_eq!(a.early_media, !refuse, "{a:?}");
        let now = net.now();
        if refuse {
            assert_eq!(a.remote_rtp, None);
            let play = play_tone(&mut net.a, now, &a_id);
            assert!(matches!(play, Err(EngineError::Conflict(_))), "{play:?}");
            assert!(events_of(&net, true, "call.early_media").is_empty());
        }
        answer(&mut net.b, now, &b_id).expect("answered");
        deliver(&mut net, false, |m| {
            if let Message::Response(r) = m {
                if r.status.code() == 200 {
                    r.body.clear();
                    r.head.content_type = None;
                }
            }
        });
        let a_streams = streams(&net.a, &a_id);
        assert_eq!(a_streams.len(), 1, "refuse {refuse}: {a_streams:?}");
        let b_local = net.b_call(&b_id).local_rtp;
        assert_eq!(Some(a_streams[0].remote_rtp.to_string()), b_local);
        net.pump();
        let a = net.a_call(&a_id);
        assert_eq!(a.state, CallState::Active, "refuse {refuse}: {a:?}");
        assert_eq!(a.remote_rtp, b_local);
        assert_eq!(net.count_sent(true, "BYE"), 0, "no 488 hang-up");
    }
}

#[test]
fn progress_needs_an_sdp_offer() {
    let mut net = Net::new(53, calls(60, 60), calls(60, 60), false);
    let a_id = net.place_call(None).id;
    let (_, invite) = first_invite(&net);
    net.hangup_a(&a_id);
    // The same INVITE as a new call without an offer (late offer).
    let mut late = invite;
    late.body.clear();
    late.head.content_type = None;
    late.head.call_id = "late-offer-1".into();
    if let Some(v) = late.head.via.first_mut() {
        v.params.set("branch", Some("z9hG4bKlateoffer1"));
    }
    let now = net.now();
    net.b.receive(
        Inbound {
            message: Message::Request(late),
            source: addr(A_IP),
            transport: Transport::Udp,
        },
        now,
    );
    let b = net
        .b
        .calls
        .values()
        .find(|c| !c.is_ended())
        .map(|c| c.view())
        .expect("B rings for the late-offer INVITE");
    let refused = progress(&mut net.b, now, &b.id);
    let Err(EngineError::Conflict(message)) = refused else {
        panic!("expected Conflict, got {refused:?}");
    };
    assert!(message.contains("no SDP offer"), "{message}");
}
