//! Cost of the per-call DTMF work on the media path: the in-band detector on
//! 20 ms frames (it runs on every received frame of every call) and the
//! RFC 4733 receiver per packet.

use std::time::{Duration, Instant};

use callwire_media::dtmf::inband::{Detector, Generator};
use callwire_media::dtmf::rfc4733::{Receiver, Sender};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// One second of 8 kHz audio: digits with pauses over low-level noise.
fn audio() -> Vec<i16> {
    let mut gen = Generator::new(8000).unwrap();
    gen.queue(
        "1234567890*#",
        Duration::from_millis(50),
        Duration::from_millis(30),
    )
    .unwrap();
    let mut pcm = vec![0i16; 8000];
    gen.fill(&mut pcm);
    let mut x: u32 = 12345;
    for s in &mut pcm {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *s = s.saturating_add(((x >> 16) as i16) >> 6);
    }
    pcm
}

fn detector(c: &mut Criterion) {
    let pcm = audio();
    let mut g = c.benchmark_group("dtmf_inband");
    g.throughput(Throughput::Elements(pcm.len() as u64 / 160));
    g.bench_function("detector_8k_1s_in_20ms_frames", |b| {
        let mut det = Detector::new(8000).unwrap();
        let mut out = Vec::with_capacity(16);
        let t0 = Instant::now();
        b.iter(|| {
            out.clear();
            for frame in pcm.chunks(160) {
                det.process(t0, black_box(frame), &mut out);
            }
            black_box(out.len())
        })
    });
    g.finish();
}

fn receiver(c: &mut Criterion) {
    let mut tx = Sender::default();
    tx.send("1234567890").unwrap();
    let pkts: Vec<_> = (0..200u32).filter_map(|i| tx.poll(i * 160)).collect();
    let mut g = c.benchmark_group("dtmf_rfc4733");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("receiver_on_packet", |b| {
        let t0 = Instant::now();
        b.iter(|| {
            let mut rx = Receiver::default();
            let mut n = 0;
            for (seq, p) in pkts.iter().enumerate() {
                n += rx
                    .on_packet(t0, seq as u16, p.timestamp, p.marker, &p.payload)
                    .is_some() as u32;
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, detector, receiver);
criterion_main!(benches);
