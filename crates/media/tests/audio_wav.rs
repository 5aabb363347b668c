//! WAV reading (formats, mixdown, bounds, truncation, hostile bytes) and
//! recording (mono/stereo, flush keeps the file valid, finalize).

use std::cell::RefCell;
use std::io::{Cursor, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::time::Duration;

use callwire_media::audio::{read_wav, RecordLayout, WavError, WavRecorder};
use proptest::prelude::*;

const LONG: Duration = Duration::from_secs(3600);

/// A Write + Seek whose bytes the test can look at while a recorder still
/// owns it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Cursor<Vec<u8>>>>);

impl Shared {
    fn bytes(&self) -> Vec<u8> {
        self.0.borrow().get_ref().clone()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Shared {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.borrow_mut().seek(pos)
    }
}

fn ramp(n: usize) -> Vec<i16> {
    (0..n).map(|i| ((i * 37) % 65536) as u16 as i16).collect()
}

/// A WAV file written by hound directly with the given spec.
fn hound_file(
    spec: hound::WavSpec,
    write: impl FnOnce(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>),
) -> Vec<u8> {
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        write(&mut w);
        w.finalize().unwrap();
    }
    cur.into_inner()
}

fn spec(channels: u16, rate: u32, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

#[test]
fn mono_recording_reads_back() {
    let out = Shared::default();
    let mut rec = WavRecorder::new(out.clone(), 8000, RecordLayout::Mono).unwrap();
    let samples = ramp(8000);
    for frame in samples.chunks(160) {
        rec.write_mono(frame).unwrap();
    }
    assert_eq!(rec.frames(), 8000);
    assert_eq!(rec.duration(), Duration::from_secs(1));
    rec.finalize().unwrap();
    let bytes = out.bytes();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(bytes.len(), 44 + 16000);
    let audio = read_wav(Cursor::new(&bytes), LONG).unwrap();
    assert_eq!(audio.rate, 8000);
    assert_eq!(audio.samples, samples);
    assert_eq!(audio.duration(), Duration::from_secs(1));
}

#[test]
fn stereo_recording_keeps_one_direction_per_channel() {
    let out = Shared::default();
    let mut rec = WavRecorder::new(out.clone(), 16000, RecordLayout::Stereo).unwrap();
    rec.write_stereo(&[100, 200, 300], &[-100, -200]).unwrap();
    rec.write_stereo(&[], &[7]).unwrap();
    assert_eq!(rec.frames(), 4);
    rec.finalize().unwrap();
    let bytes = out.bytes();
    let mut r = hound::WavReader::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(r.spec().channels, 2);
    assert_eq!(r.spec().sample_rate, 16000);
    assert_eq!(r.spec().bits_per_sample, 16);
    let s: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(s, [100, -100, 200, -200, 300, 0, 0, 7]);
    // Read as mono: the mean of both channels.
    let audio = read_wav(Cursor::new(&bytes), LONG).unwrap();
    assert_eq!(audio.samples, [0, 0, 150, 3]);
}

#[test]
fn layout_mismatch_is_an_error() {
    let mut rec = WavRecorder::new(Shared::default(), 8000, RecordLayout::Mono).unwrap();
    assert!(matches!(
        rec.write_stereo(&[1], &[2]),
        Err(WavError::Layout {
            expected: RecordLayout::Mono
        })
    ));
    let mut rec = WavRecorder::new(Shared::default(), 8000, RecordLayout::Stereo).unwrap();
    assert!(matches!(rec.write_mono(&[1]), Err(WavError::Layout { .. })));
    assert!(matches!(
        WavRecorder::new(Shared::default(), 0, RecordLayout::Mono),
        Err(WavError::SampleRate { rate: 0 })
    ));
}

#[test]
fn file_cut_after_a_flush_reads_back_the_flushed_samples() {
    let out = Shared::default();
    let mut rec = WavRecorder::new(out.clone(), 8000, RecordLayout::Mono).unwrap();
    let first = ramp(4000);
    rec.write_mono(&first).unwrap();
    rec.flush().unwrap();
    let at_flush = out.bytes().len();
    // Keep recording after the flush, as a live call would.
    rec.write_mono(&[1234; 3000]).unwrap();
    let live = out.bytes();
    assert!(live.len() > at_flush);
    // The process dies: the file is cut anywhere after the flush point.
    for cut in [at_flush, at_flush + 1, at_flush + 2001, live.len()] {
        let audio = read_wav(Cursor::new(&live[..cut]), LONG).unwrap();
        assert_eq!(audio.samples, first, "cut at {cut}");
    }
    // Cut inside the flushed data: the header promises more than there is.
    assert!(matches!(
        read_wav(Cursor::new(&live[..at_flush - 100]), LONG),
        Err(WavError::Truncated)
    ));
    // A later flush covers everything.
    rec.flush().unwrap();
    let audio = read_wav(Cursor::new(out.bytes()), LONG).unwrap();
    assert_eq!(audio.samples.len(), 7000);
    // Dropping the recorder without finalize still updates the header.
    rec.write_mono(&[5; 10]).unwrap();
    drop(rec);
    let audio = read_wav(Cursor::new(out.bytes()), LONG).unwrap();
    assert_eq!(audio.samples.len(), 7010);
}

#[test]
fn reads_common_formats_and_rates() {
    use hound::SampleFormat::{Float, Int};
    // (spec, raw samples to write, expected mono i16)
    let f8 = hound_file(spec(1, 8000, 8, Int), |w| {
        for s in [-128i8, -1, 0, 1, 127] {
            w.write_sample(s).unwrap();
        }
    });
    assert_eq!(
        read_wav(Cursor::new(f8), LONG).unwrap().samples,
        [-32768, -256, 0, 256, 32512]
    );

    let f24 = hound_file(spec(1, 48000, 24, Int), |w| {
        for s in [-8388608i32, -256, 0, 256, 8388607] {
            w.write_sample(s).unwrap();
        }
    });
    let a = read_wav(Cursor::new(f24), LONG).unwrap();
    assert_eq!(a.rate, 48000);
    assert_eq!(a.samples, [-32768, -1, 0, 1, 32767]);

    let f32i = hound_file(spec(1, 16000, 32, Int), |w| {
        for s in [i32::MIN, -65536, 0, 65536, i32::MAX] {
            w.write_sample(s).unwrap();
        }
    });
    assert_eq!(
        read_wav(Cursor::new(f32i), LONG).unwrap().samples,
        [-32768, -1, 0, 1, 32767]
    );

    let ff = hound_file(spec(1, 44100, 32, Float), |w| {
        for s in [-1.0f32, -0.5, 0.0, 0.5, 0.999_969_5, 2.0] {
            w.write_sample(s).unwrap();
        }
    });
    let a = read_wav(Cursor::new(ff), LONG).unwrap();
    assert_eq!(a.rate, 44100);
    assert_eq!(a.samples, [-32768, -16384, 0, 16384, 32767, 32767]);

    let stereo_float = hound_file(spec(2, 22050, 32, Float), |w| {
        for s in [0.5f32, -0.5, 0.25, 0.25] {
            w.write_sample(s).unwrap();
        }
    });
    assert_eq!(
        read_wav(Cursor::new(stereo_float), LONG).unwrap().samples,
        [0, 8192]
    );

    // WAVE_FORMAT_EXTENSIBLE (hound writes it for > 2 channels).
    let four = hound_file(spec(4, 32000, 16, Int), |w| {
        for s in [4i16, 8, 12, 16] {
            w.write_sample(s).unwrap();
        }
    });
    assert_eq!(read_wav(Cursor::new(four), LONG).unwrap().samples, [10]);
}

#[test]
fn duration_bound_is_checked_before_reading() {
    let out = Shared::default();
    let mut rec = WavRecorder::new(out.clone(), 8000, RecordLayout::Mono).unwrap();
    rec.write_mono(&[0; 16000]).unwrap();
    rec.finalize().unwrap();
    let bytes = out.bytes();
    assert_eq!(
        read_wav(Cursor::new(&bytes), Duration::from_secs(2))
            .unwrap()
            .samples
            .len(),
        16000
    );
    match read_wav(Cursor::new(&bytes), Duration::from_millis(1999)) {
        Err(WavError::TooLong { frames, max }) => {
            assert_eq!(frames, 16000);
            assert_eq!(max, 15992);
        }
        other => panic!("{other:?}"),
    }
    // A header that claims 4 GiB of data is refused without allocating it.
    let mut lying = bytes[..44].to_vec();
    lying[40..44].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert!(matches!(
        read_wav(Cursor::new(lying), LONG),
        Err(WavError::TooLong { .. })
    ));
}

#[test]
fn malformed_and_unsupported_files_are_errors() {
    assert!(matches!(
        read_wav(Cursor::new(b""), LONG),
        Err(WavError::Truncated)
    ));
    assert!(matches!(
        read_wav(Cursor::new(b"RIFX\0\0\0\0WAVE"), LONG),
        Err(WavError::Malformed { .. })
    ));
    // Rate outside 1000..=192000.
    let slow = hound_file(spec(1, 500, 16, hound::SampleFormat::Int), |w| {
        w.write_sample(1i16).unwrap()
    });
    assert!(matches!(
        read_wav(Cursor::new(slow), LONG),
        Err(WavError::SampleRate { rate: 500 })
    ));
    // Nine channels.
    let nine = hound_file(spec(9, 8000, 16, hound::SampleFormat::Int), |w| {
        for _ in 0..9 {
            w.write_sample(1i16).unwrap();
        }
    });
    assert!(matches!(
        read_wav(Cursor::new(nine), LONG),
        Err(WavError::Channels { channels: 9, .. })
    ));
    // ADPCM format tag.
    let mut adpcm = hound_file(spec(1, 8000, 16, hound::SampleFormat::Int), |w| {
        w.write_sample(1i16).unwrap()
    });
    adpcm[20..22].copy_from_slice(&2u16.to_le_bytes());
    assert!(matches!(
        read_wav(Cursor::new(adpcm), LONG),
        Err(WavError::Unsupported)
    ));
}

fn valid_file() -> Vec<u8> {
    let out = Shared::default();
    let mut rec = WavRecorder::new(out.clone(), 8000, RecordLayout::Stereo).unwrap();
    rec.write_stereo(&ramp(64), &ramp(64)).unwrap();
    rec.finalize().unwrap();
    out.bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_wav(Cursor::new(&bytes), LONG);
        let mut riff = b"RIFF\0\0\0\0WAVE".to_vec();
        riff.extend_from_slice(&bytes);
        let _ = read_wav(Cursor::new(&riff), LONG);
    }

    #[test]
    fn mutated_headers_never_panic(edits in prop::collection::vec((0usize..80, any::<u8>()), 1..6), cut in 0usize..400) {
        let mut bytes = valid_file();
        for (pos, val) in edits {
            if let Some(b) = bytes.get_mut(pos) {
                *b = val;
            }
        }
        bytes.truncate(cut.max(12));
        if let Ok(audio) = read_wav(Cursor::new(&bytes), Duration::from_secs(10)) {
            prop_assert!(audio.samples.len() <= bytes.len());
        }
    }
}
