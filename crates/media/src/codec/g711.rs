//! G.711 µ-law (PCMU) and A-law (PCMA), table driven.
//!
//! The tables are built at compile time by `const fn`s that follow the
//! classic segment/quantisation formulation of ITU-T G.711 (as in the Sun
//! reference `g711.c`). Encoding indexes a table by the top 14 (µ-law) or
//! 13 (A-law) bits of the linear sample, which is exactly the precision the
//! law uses, so a lookup gives the same code as the reference algorithm.

/// µ-law bias in 16-bit units (33 in 14-bit units).
const ULAW_BIAS: i32 = 0x84;
/// Largest µ-law magnitude in 14-bit units.
const ULAW_CLIP: i32 = 8159;

/// µ-law code to 16-bit linear.
static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
/// A-law code to 16-bit linear.
static ALAW_DECODE: [i16; 256] = build_alaw_decode();
/// 14-bit two's complement (`sample >> 2` as an unsigned index) to µ-law.
static ULAW_ENCODE: [u8; 1 << 14] = build_ulaw_encode();
/// 13-bit two's complement (`sample >> 3` as an unsigned index) to A-law.
static ALAW_ENCODE: [u8; 1 << 13] = build_alaw_encode();

const fn ulaw_decode_one(code: u8) -> i16 {
    let u = !code;
    let mantissa = (u & 0x0F) as i32;
    let segment = ((u & 0x70) >> 4) as i32;
    let t = ((mantissa << 3) + ULAW_BIAS) << segment;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_decode_one(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mantissa = (a & 0x0F) as i32;
    let segment = ((a & 0x70) >> 4) as i32;
    let mut t = mantissa << 4;
    if segment == 0 {
        t += 8;
    } else {
        t = (t + 0x108) << (segment - 1);
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

/// µ-law code of a 14-bit signed value (`sample >> 2`).
const fn ulaw_encode_14(v: i32) -> u8 {
    let (mag, mask) = if v < 0 { (-v, 0x7F) } else { (v, 0xFF) };
    let mag = if mag > ULAW_CLIP { ULAW_CLIP } else { mag } + (ULAW_BIAS >> 2);
    // Segment s holds biased magnitudes below 0x40 << s.
    let mut segment = 0;
    while segment < 8 && mag >= (0x40 << segment) {
        segment += 1;
    }
    let code = if segment >= 8 {
        0x7F
    } else {
        (segment << 4) | ((mag >> (segment + 1)) & 0x0F)
    };
    (code as u8) ^ mask
}

/// A-law code of a 13-bit signed value (`sample >> 3`).
const fn alaw_encode_13(v: i32) -> u8 {
    let (mag, mask) = if v >= 0 { (v, 0xD5) } else { (-v - 1, 0x55) };
    let mut segment = 0;
    // Segment s holds magnitudes below 0x20 << s.
    while segment < 8 && mag >= (0x20 << segment) {
        segment += 1;
    }
    let code = if segment >= 8 {
        0x7F
    } else if segment < 2 {
        (segment << 4) | ((mag >> 1) & 0x0F)
    } else {
        (segment << 4) | ((mag >> segment) & 0x0F)
    };
    (code as u8) ^ mask
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_decode_one(i as u8);
        i += 1;
    }
    table
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_decode_one(i as u8);
        i += 1;
    }
    table
}

const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut table = [0u8; 1 << 14];
    let mut i = 0;
    while i < (1 << 14) {
        // Index i is the 14-bit two's complement pattern of the value.
        let v = if i >= (1 << 13) {
            i as i32 - (1 << 14)
        } else {
            i as i32
        };
        table[i] = ulaw_encode_14(v);
        i += 1;
    }
    table
}

const fn build_alaw_encode() -> [u8; 1 << 13] {
    let mut table = [0u8; 1 << 13];
    let mut i = 0;
    while i < (1 << 13) {
        let v = if i >= (1 << 12) {
            i as i32 - (1 << 13)
        } else {
            i as i32
        };
        table[i] = alaw_encode_13(v);
        i += 1;
    }
    table
}

/// Decodes one µ-law code to 16-bit linear PCM.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Decodes one A-law code to 16-bit linear PCM.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// Encodes one 16-bit linear sample to µ-law.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    // The top 14 bits as an unsigned index: always < 2^14.
    ULAW_ENCODE[((sample as u16) >> 2) as usize]
}

/// Encodes one 16-bit linear sample to A-law.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    // The top 13 bits as an unsigned index: always < 2^13.
    ALAW_ENCODE[((sample as u16) >> 3) as usize]
}

/// Appends the µ-law codes of `pcm` to `out`.
pub(crate) fn encode_ulaw(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| linear_to_ulaw(s)));
}

/// Appends the A-law codes of `pcm` to `out`.
pub(crate) fn encode_alaw(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| linear_to_alaw(s)));
}

/// Appends the linear samples of µ-law `payload` to `out`.
pub(crate) fn decode_ulaw(payload: &[u8], out: &mut Vec<i16>) {
    out.extend(payload.iter().map(|&c| ulaw_to_linear(c)));
}

/// Appends the linear samples of A-law `payload` to `out`.
pub(crate) fn decode_alaw(payload: &[u8], out: &mut Vec<i16>) {
    out.extend(payload.iter().map(|&c| alaw_to_linear(c)));
}
