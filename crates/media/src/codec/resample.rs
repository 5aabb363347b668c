//! Mono i16 resampling between call rates (8, 16 and 48 kHz, and other
//! common rates for file playback) over `rubato`'s synchronous FFT
//! resampler.
//!
//! The resampler works in fixed blocks of 20 ms by default (or the smallest
//! block the rate pair allows, if longer) and keeps its filter state and
//! any partial block between calls, so feeding 20 ms frames one at a time
//! gives the same output as feeding the whole signal at once, without
//! clicks at frame edges. The price is a fixed delay of half a block
//! ([`Resampler::delay`], 10 ms by default); output only appears once a
//! whole block is in. 20 ms blocks keep the 8 kHz passband flat to 3.4 kHz
//! (10 ms blocks lose about 10 dB there), so shorter blocks
//! ([`Resampler::with_block_ms`]) are for 10 ms frames that need the lower
//! latency more than the top of the band.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::audioadapter_buffers;
use rubato::{Fft, FixedSync, Resampler as _};

use super::CodecError;

/// Lowest rate accepted, in Hz.
pub const MIN_RATE: u32 = 1_000;
/// Highest rate accepted, in Hz.
pub const MAX_RATE: u32 = 192_000;
/// Default block duration in milliseconds.
pub const DEFAULT_BLOCK_MS: u32 = 20;

/// A stateful mono resampler from one fixed rate to another.
pub struct Resampler {
    from: u32,
    to: u32,
    /// `None` when both rates are equal: samples pass through.
    inner: Option<Inner>,
}

struct Inner {
    fft: Box<Fft<f32>>,
    chunk_in: usize,
    chunk_out: usize,
    /// Input not yet resampled (less than one block after each call).
    pending: Vec<f32>,
    /// One block of output.
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz, both within
    /// [`MIN_RATE`]..=[`MAX_RATE`], with blocks of [`DEFAULT_BLOCK_MS`].
    pub fn new(from: u32, to: u32) -> Result<Resampler, CodecError> {
        Resampler::with_block_ms(from, to, DEFAULT_BLOCK_MS)
    }

    /// A resampler working in blocks of `block_ms` milliseconds (1..=100,
    /// rounded up to the smallest block the rates allow).
    pub fn with_block_ms(from: u32, to: u32, block_ms: u32) -> Result<Resampler, CodecError> {
        let valid = |r: u32| (MIN_RATE..=MAX_RATE).contains(&r);
        if !valid(from) || !valid(to) || !(1..=100).contains(&block_ms) {
            return Err(CodecError::ResampleRates { from, to });
        }
        if from == to {
            return Ok(Resampler {
                from,
                to,
                inner: None,
            });
        }
        // A block must hold a whole number of samples on both sides.
        let min_in = (from / gcd(from, to)) as usize;
        let wanted = (u64::from(from) * u64::from(block_ms) / 1000) as usize;
        let chunk = wanted.div_ceil(min_in).max(1) * min_in;
        let fft = Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Both)
            .map_err(|_| CodecError::ResampleRates { from, to })?;
        let chunk_in = fft.input_frames_next();
        let chunk_out = fft.output_frames_next();
        Ok(Resampler {
            from,
            to,
            inner: Some(Inner {
                fft: Box::new(fft),
                chunk_in,
                chunk_out,
                pending: Vec::with_capacity(chunk_in * 2),
                scratch: vec![0.0; chunk_out],
            }),
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Delay of the output behind the input, in output samples.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.fft.output_delay())
    }

    /// Input samples per internal block: input is resampled once this many
    /// have arrived.
    pub fn block_len(&self) -> usize {
        self.inner.as_ref().map_or(1, |i| i.chunk_in)
    }

    /// Resamples `input` and appends the output to `out`. Input short of a
    /// whole block is kept for the next call.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return Ok(());
        };
        inner
            .pending
            .extend(input.iter().map(|&s| f32::from(s) / 32768.0));
        let mut consumed = 0;
        while inner.pending.len() - consumed >= inner.chunk_in {
            let block = inner
                .pending
                .get(consumed..consumed + inner.chunk_in)
                .ok_or(CodecError::Resampler)?;
            let buf_in = InterleavedSlice::new(block, 1, inner.chunk_in)
                .map_err(|_| CodecError::Resampler)?;
            let mut buf_out = InterleavedSlice::new_mut(&mut inner.scratch, 1, inner.chunk_out)
                .map_err(|_| CodecError::Resampler)?;
            let (_, produced) = inner
                .fft
                .process_into_buffer(&buf_in, &mut buf_out, None)
                .map_err(|_| CodecError::Resampler)?;
            out.extend(
                inner
                    .scratch
                    .iter()
                    .take(produced)
                    // `as` saturates out-of-range values.
                    .map(|&x| (x * 32768.0).round() as i16),
            );
            consumed += inner.chunk_in;
        }
        inner.pending.drain(..consumed);
        Ok(())
    }

    /// Drops buffered input and filter state, as after a stream restart.
    pub fn reset(&mut self) {
        if let Some(inner) = self.inner.as_mut() {
            inner.fft.reset();
            inner.pending.clear();
        }
    }
}
