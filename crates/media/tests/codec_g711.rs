//! G.711 exhaustive tests against a reference derived here from the
//! segment/quantisation definition of ITU-T G.711 (decision thresholds
//! counted, not the table-building code of the crate).

use callwire_media::codec::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use callwire_media::codec::{Codec, Decoder, Encoder};

/// µ-law segment s (0..8) in 14-bit magnitude units: the lower edge of its
/// first interval and its step. G.711 µ-law: step 2 in segment 0 starting
/// at -1 (so the first interval is [-1, 1) and decodes to 0), then the
/// step doubles per segment, segment edges at 31, 95, 223, 479, 991, 2015,
/// 4063 and full scale 8159.
fn ulaw_segment(s: u32) -> (i32, i32) {
    let edges = [-1, 31, 95, 223, 479, 991, 2015, 4063];
    (edges[s as usize], 2 << s)
}

/// A-law segment s in 12-bit magnitude units: segments 0 and 1 both step
/// 2 (edges 0 and 32), then the step doubles, edges 64 ... 2048, full
/// scale 4095.
fn alaw_segment(s: u32) -> (i32, i32) {
    let edges = [0, 32, 64, 128, 256, 512, 1024, 2048];
    let step = if s <= 1 { 2 } else { 1 << s };
    (edges[s as usize], step)
}

/// Quantiser index (0..=127) of a magnitude: the number of decision
/// thresholds (interval lower edges, excluding the very first) at or below
/// it.
fn index_of(mag: i32, segment: fn(u32) -> (i32, i32)) -> u8 {
    let mut count = 0u8;
    for k in 1..128u32 {
        let (edge, step) = segment(k / 16);
        let threshold = edge + step * (k % 16) as i32;
        if threshold <= mag {
            count += 1;
        }
    }
    count
}

/// Reconstruction value (interval midpoint) of index `idx`.
fn midpoint(idx: u8, segment: fn(u32) -> (i32, i32)) -> i32 {
    let (edge, step) = segment(u32::from(idx) / 16);
    edge + step * i32::from(idx % 16) + step / 2
}

fn ref_ulaw_decode(code: u8) -> i16 {
    let inv = !code;
    let negative = inv & 0x80 != 0;
    let mag = midpoint(inv & 0x7F, ulaw_segment) * 4; // 14-bit to 16-bit
    (if negative { -mag } else { mag }) as i16
}

fn ref_ulaw_encode(x: i16) -> u8 {
    // µ-law codes the 14-bit two's complement value (x >> 2).
    let v = i32::from(x) >> 2;
    let (negative, mag) = if v < 0 { (true, -v) } else { (false, v) };
    let idx = index_of(mag.min(8159), ulaw_segment);
    // Codes are transmitted inverted; the sign bit (before inversion) is
    // set for negative values.
    let sign = if negative { 0x80 } else { 0x00 };
    !(sign | idx)
}

fn ref_alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let positive = a & 0x80 != 0;
    let mag = midpoint(a & 0x7F, alaw_segment) * 8; // 13-bit to 16-bit
    (if positive { mag } else { -mag }) as i16
}

fn ref_alaw_encode(x: i16) -> u8 {
    // A-law codes the 13-bit value (x >> 3); negative values use the one's
    // complement magnitude so that -1 and 0 fall in mirrored intervals.
    let v = i32::from(x) >> 3;
    let (positive, mag) = if v >= 0 { (true, v) } else { (false, -v - 1) };
    let idx = index_of(mag, alaw_segment);
    let sign = if positive { 0x80 } else { 0x00 };
    (sign | idx) ^ 0x55
}

#[test]
fn ulaw_decode_all_codes_match_reference() {
    for c in 0..=255u8 {
        assert_eq!(ulaw_to_linear(c), ref_ulaw_decode(c), "code {c:#04x}");
    }
    // Spot values from the G.711 tables (16-bit scale).
    assert_eq!(ulaw_to_linear(0xFF), 0);
    assert_eq!(ulaw_to_linear(0x7F), 0);
    assert_eq!(ulaw_to_linear(0x80), 32124);
    assert_eq!(ulaw_to_linear(0x00), -32124);
    assert_eq!(ulaw_to_linear(0xFE), 8);
}

#[test]
fn alaw_decode_all_codes_match_reference() {
    for c in 0..=255u8 {
        assert_eq!(alaw_to_linear(c), ref_alaw_decode(c), "code {c:#04x}");
    }
    assert_eq!(alaw_to_linear(0xD5), 8);
    assert_eq!(alaw_to_linear(0x55), -8);
    assert_eq!(alaw_to_linear(0xAA), 32256);
    assert_eq!(alaw_to_linear(0x2A), -32256);
}

#[test]
fn ulaw_encode_every_i16_matches_reference() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(linear_to_ulaw(x), ref_ulaw_encode(x), "sample {x}");
    }
}

#[test]
fn alaw_encode_every_i16_matches_reference() {
    for x in i16::MIN..=i16::MAX {
        assert_eq!(linear_to_alaw(x), ref_alaw_encode(x), "sample {x}");
    }
}

#[test]
fn ulaw_code_round_trip() {
    for c in 0..=255u8 {
        let back = linear_to_ulaw(ulaw_to_linear(c));
        if c == 0x7F {
            // Negative zero decodes to 0, which encodes as positive zero.
            assert_eq!(back, 0xFF);
        } else {
            assert_eq!(back, c, "code {c:#04x}");
        }
    }
}

#[test]
fn alaw_code_round_trip() {
    for c in 0..=255u8 {
        assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "code {c:#04x}");
    }
}

#[test]
fn encode_is_monotonic_in_magnitude() {
    // Larger positive input never gives a smaller decoded value.
    let mut prev_u = i16::MIN;
    let mut prev_a = i16::MIN;
    for x in i16::MIN..=i16::MAX {
        let u = ulaw_to_linear(linear_to_ulaw(x));
        let a = alaw_to_linear(linear_to_alaw(x));
        assert!(u >= prev_u && a >= prev_a, "sample {x}");
        prev_u = u;
        prev_a = a;
    }
}

#[test]
fn encoder_and_decoder_use_the_tables() {
    let pcm: Vec<i16> = (0..160).map(|i| (i * 397 - 30000) as i16).collect();
    for (codec, enc_one, dec_one) in [
        (
            Codec::Pcmu,
            linear_to_ulaw as fn(i16) -> u8,
            ulaw_to_linear as fn(u8) -> i16,
        ),
        (Codec::Pcma, linear_to_alaw, alaw_to_linear),
    ] {
        let mut enc = Encoder::new(codec).unwrap();
        let mut dec = Decoder::new(codec).unwrap();
        let mut payload = vec![0xEE]; // appends after existing bytes
        enc.encode(&pcm, &mut payload).unwrap();
        assert_eq!(payload.len(), 161);
        let expect: Vec<u8> = pcm.iter().map(|&s| enc_one(s)).collect();
        assert_eq!(&payload[1..], &expect[..]);
        let mut out = vec![7i16];
        dec.decode(&payload[1..], &mut out).unwrap();
        assert_eq!(out[0], 7);
        let expect: Vec<i16> = expect.iter().map(|&c| dec_one(c)).collect();
        assert_eq!(&out[1..], &expect[..]);
    }
}
