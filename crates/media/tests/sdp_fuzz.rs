//! Property tests standing in for a fuzz target (stable toolchain): random
//! bytes and mutated real SDPs go through the public API. The parser must not
//! panic; whatever it accepts must round-trip through the printer, and the
//! helpers and offer/answer must not panic on it either.

use callwire_media::sdp::{accept_answer, answer, build_offer, LocalMedia, SessionDescription};
use proptest::prelude::*;

const SAMPLES: &[&[u8]] = &[
    include_bytes!("sdp_samples/sipp_uac.sdp"),
    include_bytes!("sdp_samples/baresip_offer.sdp"),
    include_bytes!("sdp_samples/ipv6_audio_video.sdp"),
];

/// Fragments that steer mutations towards interesting parser paths.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"\r",
    b"\0",
    b"=",
    b":",
    b"/",
    b" ",
    b"v=0\r\n",
    b"m=audio 65535 RTP/AVP 0 8 101\r\n",
    b"m=video 0 RTP/AVP 31\r\n",
    b"c=IN IP4 0.0.0.0\r\n",
    b"c=IN IP6 ::1\r\n",
    b"c=IN IP4 host\r\n",
    b"a=sendonly\r\n",
    b"a=inactive\r\n",
    b"a=rtpmap:101 telephone-event/8000\r\n",
    b"a=rtpmap:96 opus/48000/2\r\n",
    b"a=fmtp:101 0-16\r\n",
    b"a=ptime:4294967296\r\n",
    b"a=rtcp:9 IN IP6 ::\r\n",
    b"t=0 0\r\n",
    b"r=1 2 3\r\n",
    b"b=AS:99999999999999999999\r\n",
    b"o=- 1 1 IN IP4 1.2.3.4\r\n",
    b"s=\r\n",
    b"99999",
    b"\xc3\xa9",
    b"\xff",
];

#[derive(Debug, Clone)]
enum Mutation {
    InsertByte(usize, u8),
    SetByte(usize, u8),
    Delete(usize, usize),
    InsertFragment(usize, usize),
    DuplicateRange(usize, usize),
    DropLine(usize),
    SwapLines(usize, usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => (any::<usize>(), 0usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(i, f)| Mutation::InsertFragment(i, f)),
        1 => (any::<usize>(), 0usize..200).prop_map(|(i, n)| Mutation::DuplicateRange(i, n)),
        3 => any::<usize>().prop_map(Mutation::DropLine),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

/// Applies a line-level edit to the body split on LF.
fn edit_lines(body: &mut Vec<u8>, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let mut lines: Vec<Vec<u8>> = body.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    edit(&mut lines);
    *body = lines.join(&b'\n');
}

fn apply(body: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match *m {
        Mutation::InsertByte(i, b) => body.insert(at(i, body.len()), b),
        Mutation::SetByte(i, b) => {
            if !body.is_empty() {
                let i = i % body.len();
                body[i] = b;
            }
        }
        Mutation::Delete(i, n) => {
            let start = at(i, body.len());
            let end = (start + n).min(body.len());
            body.drain(start..end);
        }
        Mutation::InsertFragment(i, f) => {
            let frag = FRAGMENTS[f % FRAGMENTS.len()];
            let i = at(i, body.len());
            body.splice(i..i, frag.iter().copied());
        }
        Mutation::DuplicateRange(i, n) => {
            let start = at(i, body.len());
            let end = (start + n).min(body.len());
            let copy = body[start..end].to_vec();
            body.splice(end..end, copy);
        }
        Mutation::DropLine(i) => edit_lines(body, |l| {
            let i = i % l.len();
            l.remove(i);
        }),
        Mutation::SwapLines(a, b) => edit_lines(body, |l| {
            let n = l.len();
            l.swap(a % n, b % n);
        }),
        Mutation::DuplicateLine(i) => edit_lines(body, |l| {
            let i = i % l.len();
            let copy = l[i].clone();
            l.insert(i, copy);
        }),
    }
}

/// Everything the rest of the system may call on a parsed description.
fn exercise(sdp: &SessionDescription) {
    let printed = sdp.to_string();
    let again = SessionDescription::parse(printed.as_bytes())
        .unwrap_or_else(|e| panic!("printed SDP does not parse: {e}\n{printed:?}"));
    assert_eq!(
        &again, sdp,
        "round trip changed the description\n{printed:?}"
    );

    let _ = sdp.direction();
    for m in &sdp.media {
        let _ = (
            sdp.media_direction(m),
            sdp.media_connection(m),
            sdp.media_ptime(m),
        );
        let _ = (m.rtcp(), m.direction_attr());
        for pt in 0..=127u8 {
            let _ = (m.codec(pt), m.fmtp(pt));
        }
    }

    let local = LocalMedia::new("192.0.2.1".parse().unwrap(), 4000);
    if let Ok((ans, _)) = answer(sdp, &local) {
        let reparsed = SessionDescription::parse(ans.to_string().as_bytes()).unwrap();
        assert_eq!(reparsed.media.len(), sdp.media.len());
    }
    let _ = accept_answer(&build_offer(&local), sdp);
    let _ = accept_answer(sdp, sdp);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(sdp) = SessionDescription::parse(&body) {
            exercise(&sdp);
        }
    }

    #[test]
    fn random_text_lines_never_panic(lines in proptest::collection::vec("([a-z]|[a-zA-Z=]{0,2})=[ -~]{0,40}", 0..8)) {
        let body = format!("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n{}", lines.join("\r\n"));
        if let Ok(sdp) = SessionDescription::parse(body.as_bytes()) {
            exercise(&sdp);
        }
    }

    #[test]
    fn mutated_samples_never_panic(
        sample in 0..SAMPLES.len(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let mut body = SAMPLES[sample].to_vec();
        for m in &mutations {
            apply(&mut body, m);
        }
        if let Ok(sdp) = SessionDescription::parse(&body) {
            exercise(&sdp);
        }
    }
}
