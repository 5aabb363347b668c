//! Cost of one 20 ms frame per codec: encode, decode, conceal, resample.

use callwire_media::codec::{Codec, Decoder, Encoder, L16Rate, Resampler};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn speech_like(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            [
                (230.0, 3000.0),
                (710.0, 2500.0),
                (1390.0, 2000.0),
                (2270.0, 1500.0),
            ]
            .iter()
            .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
            .sum::<f64>() as i16
        })
        .collect()
}

fn codecs(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_20ms");
    for codec in [
        Codec::Pcmu,
        Codec::Pcma,
        Codec::G722,
        Codec::Opus,
        Codec::L16(L16Rate::Hz16000),
    ] {
        let n = codec.samples_per_frame(20);
        let pcm = speech_like(codec.pcm_rate(), n);
        let mut enc = Encoder::new(codec).unwrap();
        let mut payload = Vec::with_capacity(4000);
        group.bench_function(BenchmarkId::new("encode", codec.encoding_name()), |b| {
            b.iter(|| {
                payload.clear();
                enc.encode(&pcm, &mut payload).unwrap();
            })
        });
        payload.clear();
        enc.encode(&pcm, &mut payload).unwrap();
        let mut dec = Decoder::new(codec).unwrap();
        let mut out = Vec::with_capacity(n);
        group.bench_function(BenchmarkId::new("decode", codec.encoding_name()), |b| {
            b.iter(|| {
                out.clear();
                dec.decode(&payload, &mut out).unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("conceal", codec.encoding_name()), |b| {
            b.iter(|| {
                out.clear();
                dec.conceal(n, &mut out);
            })
        });
    }
    for (from, to) in [(8000, 48000), (48000, 8000), (8000, 16000), (16000, 8000)] {
        let pcm = speech_like(from, from as usize / 50);
        let mut r = Resampler::new(from, to).unwrap();
        let mut out = Vec::with_capacity(to as usize / 50);
        group.bench_function(BenchmarkId::new("resample", format!("{from}-{to}")), |b| {
            b.iter(|| {
                out.clear();
                r.process(&pcm, &mut out).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
