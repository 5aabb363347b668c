//! The codec table (names, rates, payload types, rtpmap), L16, the fade
//! concealment of the non-Opus codecs, and hostile payloads for every
//! decoder.

use callwire_media::codec::{Codec, CodecError, Decoder, Encoder, L16Rate};
use callwire_media::sdp::CodecSpec;
use proptest::prelude::*;

#[test]
fn codec_table_follows_rfc_3551_and_7587() {
    // (codec, name, clock rate, PCM rate, static PT, rtpmap)
    type Row = (Codec, &'static str, u32, u32, Option<u8>, &'static str);
    let rows: [Row; 7] = [
        (Codec::Pcmu, "PCMU", 8000, 8000, Some(0), "PCMU/8000"),
        (Codec::Pcma, "PCMA", 8000, 8000, Some(8), "PCMA/8000"),
        (Codec::G722, "G722", 8000, 16000, Some(9), "G722/8000"),
        (Codec::Opus, "opus", 48000, 48000, None, "opus/48000/2"),
        (
            Codec::L16(L16Rate::Hz8000),
            "L16",
            8000,
            8000,
            None,
            "L16/8000",
        ),
        (
            Codec::L16(L16Rate::Hz16000),
            "L16",
            16000,
            16000,
            None,
            "L16/16000",
        ),
        (
            Codec::L16(L16Rate::Hz48000),
            "L16",
            48000,
            48000,
            None,
            "L16/48000",
        ),
    ];
    for (codec, name, clock, pcm, pt, rtpmap) in rows {
        assert_eq!(codec.encoding_name(), name);
        assert_eq!(codec.clock_rate(), clock, "{codec:?}");
        assert_eq!(codec.pcm_rate(), pcm, "{codec:?}");
        assert_eq!(codec.static_payload_type(), pt, "{codec:?}");
        assert_eq!(codec.rtpmap(), rtpmap);
        assert_eq!(codec.samples_per_frame(20), pcm as usize / 50);
        assert_eq!(codec.timestamp_increment(20), clock / 50);
        assert!(Codec::ALL.contains(&codec));
    }
}

#[test]
fn rtpmap_names_map_back_to_codecs() {
    assert_eq!(Codec::from_rtpmap("pcmu", 8000, None), Some(Codec::Pcmu));
    assert_eq!(Codec::from_rtpmap("PCMA", 8000, Some(1)), Some(Codec::Pcma));
    assert_eq!(Codec::from_rtpmap("G722", 8000, None), Some(Codec::G722));
    assert_eq!(Codec::from_rtpmap("G722", 16000, None), None);
    assert_eq!(
        Codec::from_rtpmap("OPUS", 48000, Some(2)),
        Some(Codec::Opus)
    );
    assert_eq!(Codec::from_rtpmap("opus", 48000, None), Some(Codec::Opus));
    assert_eq!(Codec::from_rtpmap("opus", 16000, Some(2)), None);
    assert_eq!(
        Codec::from_rtpmap("L16", 16000, None),
        Some(Codec::L16(L16Rate::Hz16000))
    );
    assert_eq!(Codec::from_rtpmap("L16", 44100, Some(2)), None);
    assert_eq!(Codec::from_rtpmap("PCMU", 8000, Some(2)), None);
    assert_eq!(Codec::from_rtpmap("G729", 8000, None), None);
    for codec in Codec::ALL {
        let spec = codec.spec();
        assert_eq!(Codec::from_spec(&spec), Some(codec));
        assert_eq!(
            Codec::from_rtpmap(
                codec.encoding_name(),
                codec.clock_rate(),
                Some(codec.rtpmap_channels())
            ),
            Some(codec)
        );
    }
    assert_eq!(Codec::Pcmu.spec(), CodecSpec::PCMU);
    assert_eq!(Codec::Pcma.spec(), CodecSpec::PCMA);
    assert_eq!(Codec::Opus.spec().rtpmap_value(111), "111 opus/48000/2");
}

#[test]
fn l16_is_big_endian() {
    let mut enc = Encoder::new(Codec::L16(L16Rate::Hz16000)).unwrap();
    let mut out = Vec::new();
    enc.encode(&[0x0102, -2, i16::MIN, i16::MAX], &mut out)
        .unwrap();
    assert_eq!(out, [0x01, 0x02, 0xFF, 0xFE, 0x80, 0x00, 0x7F, 0xFF]);
    let mut dec = Decoder::new(Codec::L16(L16Rate::Hz16000)).unwrap();
    let mut pcm = Vec::new();
    dec.decode(&out, &mut pcm).unwrap();
    assert_eq!(pcm, [0x0102, -2, i16::MIN, i16::MAX]);
    assert_eq!(
        dec.decode(&[1, 2, 3], &mut pcm),
        Err(CodecError::PayloadLength {
            codec: Codec::L16(L16Rate::Hz16000),
            len: 3
        })
    );
    assert_eq!(pcm.len(), 4, "a failed decode appends nothing");
}

#[test]
fn encoder_and_decoder_report_their_codec() {
    for codec in Codec::ALL {
        assert_eq!(Encoder::new(codec).unwrap().codec(), codec);
        assert_eq!(Decoder::new(codec).unwrap().codec(), codec);
    }
}

fn tone8k(freq: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| (8000.0 * (std::f64::consts::TAU * freq * i as f64 / 8000.0).sin()).round() as i16)
        .collect()
}

#[test]
fn concealment_fades_to_silence_over_60_ms() {
    for codec in [Codec::Pcmu, Codec::Pcma, Codec::L16(L16Rate::Hz8000)] {
        let mut enc = Encoder::new(codec).unwrap();
        let mut dec = Decoder::new(codec).unwrap();
        let input = tone8k(440.0, 160);
        let mut payload = Vec::new();
        enc.encode(&input, &mut payload).unwrap();
        let mut good = Vec::new();
        dec.decode(&payload, &mut good).unwrap();
        let last = *good.last().unwrap();

        // Conceal 100 ms in two calls of 50 ms: the fade continues across.
        let mut out = Vec::new();
        dec.conceal(400, &mut out);
        dec.conceal(400, &mut out);
        assert_eq!(out.len(), 800);
        // Continuous with the last good sample.
        assert!(
            (i32::from(out[0]) - i32::from(last)).abs() < 100,
            "{codec:?}"
        );
        // Loud at first, fading: each 10 ms block no louder than the one before.
        let peak = |s: &[i16]| s.iter().map(|x| x.unsigned_abs()).max().unwrap();
        assert!(peak(&out[..80]) > 6000, "{codec:?}");
        let blocks: Vec<u16> = out.chunks(80).map(peak).collect();
        for w in blocks.windows(2) {
            assert!(w[1] <= w[0], "{codec:?}: {blocks:?}");
        }
        // Silent from 60 ms on.
        assert!(out[480..].iter().all(|&s| s == 0), "{codec:?}");
        // Nothing jumps: neighbouring samples stay close (no click at the
        // frame repeat).
        let max_step = out
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap();
        let tone_step = good
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap();
        assert!(
            max_step <= tone_step + 1,
            "{codec:?}: step {max_step} > {tone_step}"
        );

        // A good frame ends the concealment; the next loss starts loud again.
        let mut again = Vec::new();
        dec.decode(&payload, &mut again).unwrap();
        let mut out2 = Vec::new();
        dec.conceal(80, &mut out2);
        assert!(peak(&out2) > 6000, "{codec:?}");
    }
}

#[test]
fn concealment_before_any_packet_is_silence() {
    for codec in Codec::ALL {
        let mut dec = Decoder::new(codec).unwrap();
        let mut out = Vec::new();
        dec.conceal(320, &mut out);
        assert_eq!(out.len(), 320);
        assert!(out.iter().all(|&s| s.unsigned_abs() < 50), "{codec:?}");
    }
}

#[test]
fn decode_fec_without_fec_conceals() {
    let mut dec = Decoder::new(Codec::Pcmu).unwrap();
    let mut out = Vec::new();
    dec.decode_fec(&[0x00; 160], 160, &mut out).unwrap();
    assert_eq!(out, vec![0; 160]);
}

#[test]
fn oversized_payloads_are_refused() {
    for codec in Codec::ALL {
        let mut dec = Decoder::new(codec).unwrap();
        let mut out = Vec::new();
        assert!(
            matches!(
                dec.decode(&vec![0; 70_000], &mut out),
                Err(CodecError::PayloadTooLarge { .. })
            ),
            "{codec:?}"
        );
        assert!(out.is_empty());
    }
}

proptest! {
    #[test]
    fn every_decoder_takes_arbitrary_payloads(
        idx in 0usize..7,
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 1..6),
        conceal in 0usize..2000,
    ) {
        let codec = Codec::ALL[idx];
        let mut dec = Decoder::new(codec).unwrap();
        let mut out = Vec::new();
        for p in &payloads {
            let before = out.len();
            if dec.decode(p, &mut out).is_err() {
                prop_assert_eq!(out.len(), before);
            }
        }
        let before = out.len();
        dec.conceal(conceal, &mut out);
        prop_assert_eq!(out.len(), before + conceal);
    }

    #[test]
    fn every_encoder_takes_arbitrary_pcm(idx in 0usize..7, pcm in prop::collection::vec(any::<i16>(), 0..3000)) {
        let codec = Codec::ALL[idx];
        let mut enc = Encoder::new(codec).unwrap();
        let mut out = Vec::new();
        match enc.encode(&pcm, &mut out) {
            Ok(()) => {}
            Err(CodecError::FrameSize { codec: c, samples }) => {
                prop_assert_eq!(c, codec);
                prop_assert_eq!(samples, pcm.len());
                prop_assert!(out.is_empty());
            }
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

#[test]
fn per_call_state_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Encoder>();
    assert_send::<Decoder>();
    assert_send::<callwire_media::codec::Resampler>();
    assert_send::<callwire_media::audio::ToneGenerator>();
    assert_send::<callwire_media::audio::WavRecorder<std::io::Cursor<Vec<u8>>>>();
}
