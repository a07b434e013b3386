//! Fuzz `proto::chunked::ChunkedDecoder`: the same bytes fed whole and fed in fuzz-chosen
//! pieces into fuzz-chosen output sizes.
//!
//! Input: byte 0 gives the number N (0..=31) of control bytes that follow; they are read in
//! pairs (input piece size, output room), cycled; the rest is the chunked stream.
//! Checks: every feed has used <= input.len() and produced <= output.len(); a feed with input
//! and output room makes progress unless the decoder is done; once done a feed uses nothing;
//! after an error the same error comes back; and splitting gives the same outcome as feeding
//! whole (same error, or same body, bytes used, done-ness and trailers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::chunked::ChunkedDecoder;
use rawhttp::proto::{Headers, ProtoError};

/// What a decoding run ended with.
#[derive(Debug, PartialEq)]
enum Outcome {
    Failed(ProtoError),
    Stopped {
        used: usize,
        body: Vec<u8>,
        done: bool,
        trailers: Headers,
    },
}

/// One checked feed: the caller's invariants on its result.
fn feed(d: &mut ChunkedDecoder, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), ProtoError> {
    let was_done = d.is_done();
    let result = d.feed(input, out);
    if let Ok((used, produced)) = result {
        assert!(used <= input.len(), "used {used} of {}", input.len());
        assert!(produced <= out.len(), "produced {produced} into {}", out.len());
        if was_done {
            assert_eq!((used, produced), (0, 0), "a done decoder took more input");
        }
        // Room on both sides and no progress is a stall, unless the message is complete.
        if !input.is_empty() && !out.is_empty() && used + produced == 0 {
            assert!(d.is_done(), "no progress with {} bytes in", input.len());
        }
    }
    result
}

fn finish(d: &mut ChunkedDecoder, e: ProtoError) -> Outcome {
    // A failed decoder stays failed.
    assert_eq!(d.feed(b"0\r\n\r\n", &mut [0; 8]), Err(e));
    Outcome::Failed(e)
}

fn stopped(d: &ChunkedDecoder, used: usize, body: Vec<u8>) -> Outcome {
    Outcome::Stopped {
        used,
        body,
        done: d.is_done(),
        trailers: d.trailers().clone(),
    }
}

fn decode_whole(input: &[u8]) -> Outcome {
    let mut d = ChunkedDecoder::new();
    // Decoded data is never longer than its encoding.
    let mut out = vec![0; input.len()];
    match feed(&mut d, input, &mut out) {
        Err(e) => finish(&mut d, e),
        Ok((used, produced)) => {
            // With room for everything the decoder only stops at the end or when done.
            assert!(used == input.len() || d.is_done(), "stopped at {used} of {}", input.len());
            out.truncate(produced);
            stopped(&d, used, out)
        }
    }
}

fn decode_split(input: &[u8], steps: &[(usize, usize)]) -> Outcome {
    let mut d = ChunkedDecoder::new();
    let (mut pos, mut body, mut stalls) = (0, Vec::new(), 0usize);
    for i in 0.. {
        let (mut take, mut room) = steps.get(i % steps.len().max(1)).copied().unwrap_or((1, 1));
        // Zero-sized pieces are legal; after a few stalls in a row use non-empty ones.
        if stalls > 2 {
            (take, room) = (take.max(1), room.max(1));
        }
        let end = (pos + take).min(input.len());
        let mut out = vec![0; room];
        let (used, produced) = match feed(&mut d, &input[pos..end], &mut out) {
            Ok(step) => step,
            Err(e) => return finish(&mut d, e),
        };
        body.extend_from_slice(&out[..produced]);
        pos += used;
        stalls = if used + produced == 0 { stalls + 1 } else { 0 };
        if d.is_done() || (pos == input.len() && stalls > 3) {
            break;
        }
    }
    if d.is_done() {
        assert_eq!(feed(&mut d, &input[pos..], &mut [0; 16]), Ok((0, 0)));
    }
    stopped(&d, pos, body)
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 32).min(rest.len());
    let (control, input) = rest.split_at(n);
    let steps: Vec<(usize, usize)> = control
        .chunks(2)
        .map(|p| (usize::from(p[0] % 16), usize::from(p.get(1).copied().unwrap_or(1) % 16)))
        .collect();
    let whole = decode_whole(input);
    let split = decode_split(input, &steps);
    assert_eq!(split, whole, "split {steps:?} differs from whole");
});
