//! Parsing throughput, reported as messages per second: a typical INVITE with an SDP
//! body (~900 octets) as a datagram and through the stream framer, a `200 OK` to a
//! BYE (~300 octets) and an ACK for a 2xx, the messages a UAS sees most under load.

use callwire_sip::parse::{frame, parse_datagram, Frame, Limits};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const SDP: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn invite() -> Vec<u8> {
    let head = format!(
        "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: \"Bob\" <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n\
Supported: replaces, timer\r\n\
Session-Expires: 1800;refresher=uac\r\n\
User-Agent: callwire-bench/0.1\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n",
        SDP.len()
    );
    let mut m = head.into_bytes();
    m.extend_from_slice(SDP.as_bytes());
    m
}

/// `200 OK` to a BYE, as a UAC receives it (~300 octets, no body).
fn bye_ok() -> Vec<u8> {
    b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds10;received=192.0.2.4\r\n\
From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
To: <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 231 BYE\r\n\
Content-Length: 0\r\n\r\n"
        .to_vec()
}

/// ACK for a 2xx to the INVITE above (~350 octets, no body).
fn ack() -> Vec<u8> {
    b"ACK sip:bob@192.0.2.4:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bKnashds9;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
To: \"Bob\" <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 ACK\r\n\
Content-Length: 0\r\n\r\n"
        .to_vec()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let msg = invite();
    let response = bye_ok();
    let ack = ack();
    for m in [&msg, &response, &ack] {
        assert!(parse_datagram(m, &limits).is_ok());
    }
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("invite_datagram_{}B", msg.len()), |b| {
        b.iter(|| parse_datagram(black_box(&msg), &limits))
    });
    g.bench_function("invite_frame_then_parse", |b| {
        b.iter(|| match frame(black_box(&msg), &limits) {
            Frame::Message { len } => parse_datagram(&msg[..len], &limits).is_ok(),
            _ => false,
        })
    });
    g.bench_function(format!("bye_200_ok_datagram_{}B", response.len()), |b| {
        b.iter(|| parse_datagram(black_box(&response), &limits))
    });
    g.bench_function(format!("ack_datagram_{}B", ack.len()), |b| {
        b.iter(|| parse_datagram(black_box(&ack), &limits))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
