//! Packet loss concealment for codecs without their own: replay the last
//! good frame, fading to silence.
//!
//! The last frame is played back and forth (reflected at its ends) rather
//! than looped, so the concealed signal is continuous with the last real
//! sample and has no jump where the frame repeats. The gain falls linearly
//! from 1 to 0 over [`FADE_MS`], after which the output is silence.

/// Duration of the fade to silence.
pub(crate) const FADE_MS: usize = 60;

/// Concealment state of one decoder.
#[derive(Debug, Clone)]
pub(crate) struct FadePlc {
    /// The last good decoded frame.
    last: Vec<i16>,
    /// Samples concealed since the last good frame.
    concealed: usize,
    /// Samples over which the gain falls to zero.
    fade_len: usize,
}

impl FadePlc {
    /// Concealment for PCM at `rate` Hz.
    pub(crate) fn new(rate: u32) -> FadePlc {
        FadePlc {
            last: Vec::new(),
            concealed: 0,
            fade_len: (rate as usize * FADE_MS / 1000).max(1),
        }
    }

    /// Remembers a good decoded frame (ignored when empty).
    pub(crate) fn record(&mut self, frame: &[i16]) {
        if frame.is_empty() {
            return;
        }
        self.last.clear();
        self.last.extend_from_slice(frame);
        self.concealed = 0;
    }

    /// Appends `samples` concealment samples to `out`.
    pub(crate) fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let len = self.last.len();
        out.reserve(samples);
        for _ in 0..samples {
            let c = self.concealed;
            if len == 0 || c >= self.fade_len {
                out.push(0);
                continue;
            }
            // Reflected playback starting from the last sample backwards.
            let k = c % (2 * len);
            let idx = if k < len { len - 1 - k } else { k - len };
            let s = self.last.get(idx).copied().unwrap_or(0) as i64;
            let gain = (self.fade_len - c) as i64;
            out.push((s * gain / self.fade_len as i64) as i16);
            self.concealed = c + 1;
        }
    }
}
