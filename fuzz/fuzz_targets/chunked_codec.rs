//! Fuzz the chunk codec as a pair: `decode(encode(x)) == x` for `proto::chunked::{encode_chunk,
//! encode_last_chunk}` and `ChunkedDecoder`.
//!
//! Input: byte 0 % 16 = N cut bytes, each a chunk length (1..=256, cycled); byte 1 % 16 = M
//! step bytes, each an (input piece, output room) pair of nibbles (cycled); the rest up to the
//! first 0xFF is the body, after it the trailer text (`\n`-separated `name:value` lines).
//! Checks: the trailer encoder refuses exactly the fields an independent RFC 9110 §5 oracle
//! calls invalid, and writes nothing then; the encoded body, followed by the start of a next
//! message, decodes (whole, and in the chosen pieces) to the same body and trailers, done,
//! having used exactly the encoded bytes; over MAX_RESPONSE_HEADERS trailers or MAX_TRAILER_BYTES is `BadTrailer`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::chunked::{encode_chunk, encode_last_chunk, ChunkedDecoder};
use rawhttp::proto::limits::{MAX_RESPONSE_HEADERS, MAX_TRAILER_BYTES};
use rawhttp::proto::{Headers, ProtoError};

const NEXT_MESSAGE: &[u8] = b"HTTP/1.1 200 OK\r\n";

/// RFC 9110 §5.6.2 token, written out independently of `proto::syntax`.
fn oracle_token(name: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-.^_`|~";
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

/// A value the encoder can send unchanged: no CTL but HTAB, no DEL, no edge SP/HTAB.
fn oracle_value(v: &[u8]) -> bool {
    let edge = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    !edge(v.first()) && !edge(v.last()) && v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

fn trailers_from(text: &[u8]) -> Headers {
    let mut h = Headers::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &b""[..]),
        };
        h.push(&String::from_utf8_lossy(name), value);
    }
    h
}

fn encode(body: &[u8], cuts: &[u8], trailers: &Headers) -> (Vec<u8>, Headers) {
    let mut out = Vec::new();
    let mut rest = body;
    for i in 0.. {
        if rest.is_empty() {
            break;
        }
        let cut = cuts
            .get(i % cuts.len().max(1))
            .map_or(64, |&c| usize::from(c) + 1);
        let (chunk, tail) = rest.split_at(cut.min(rest.len()));
        encode_chunk(chunk, &mut out);
        rest = tail;
    }
    let valid = trailers
        .iter()
        .all(|(n, v)| oracle_token(n) && oracle_value(v));
    let before = out.len();
    match encode_last_chunk(trailers, &mut out) {
        Ok(()) => {
            assert!(valid, "invalid trailers encoded: {trailers:?}");
            (out, trailers.clone())
        }
        Err(e) => {
            assert_eq!(e, ProtoError::BadTrailer);
            assert!(!valid, "valid trailers refused: {trailers:?}");
            assert_eq!(out.len(), before, "a refused trailer section wrote bytes");
            encode_last_chunk(&Headers::new(), &mut out).expect("no trailers always encode");
            (out, Headers::new())
        }
    }
}

/// Bytes of the trailer section after the last-chunk line: `name: value CRLF`... `CRLF`.
fn section_len(trailers: &Headers) -> usize {
    let fields: usize = trailers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
    fields + 2
}

/// Decode `wire` feeding it in the given (input, output) steps; zero steps mean ample room.
fn decode(wire: &[u8], steps: &[(usize, usize)]) -> Result<(usize, Vec<u8>, Headers), ProtoError> {
    let mut d = ChunkedDecoder::new();
    let (mut pos, mut body, mut stalls) = (0, Vec::new(), 0);
    let mut i = 0;
    while !d.is_done() {
        let (take, room) = match steps.get(i % steps.len().max(1)) {
            Some(&(t, r)) if stalls < 3 => (t, r),
            Some(&(t, r)) => (t.max(1), r.max(1)),
            None => (wire.len(), wire.len()),
        };
        i += 1;
        let end = (pos + take).min(wire.len());
        let mut out = vec![0; room];
        let (used, produced) = d.feed(&wire[pos..end], &mut out)?;
        body.extend_from_slice(&out[..produced]);
        pos += used;
        stalls = if used + produced == 0 { stalls + 1 } else { 0 };
        assert!(stalls < 8, "decoder stalled at {pos} of {}", wire.len());
    }
    Ok((pos, body, d.trailers().clone()))
}

fuzz_target!(|data: &[u8]| {
    let [n, m, rest @ ..] = data else {
        return;
    };
    let (cuts, rest) = rest.split_at(usize::from(n % 16).min(rest.len()));
    let (step_bytes, rest) = rest.split_at(usize::from(m % 16).min(rest.len()));
    let steps: Vec<(usize, usize)> = step_bytes
        .iter()
        .map(|b| (usize::from(b >> 4), usize::from(b & 15)))
        .collect();
    let (body, trailer_text) = match rest.iter().position(|&b| b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b""[..]),
    };
    let (encoded, trailers) = encode(body, cuts, &trailers_from(trailer_text));
    let mut wire = encoded.clone();
    wire.extend_from_slice(NEXT_MESSAGE);
    for plan in [&[][..], &steps[..]] {
        let got = decode(&wire, plan);
        if trailers.len() > MAX_RESPONSE_HEADERS || section_len(&trailers) > MAX_TRAILER_BYTES {
            assert_eq!(got.map(|_| ()), Err(ProtoError::BadTrailer));
            continue;
        }
        let (used, decoded, got_trailers) =
            got.unwrap_or_else(|e| panic!("encoded body refused: {e:?} (steps {plan:?})"));
        assert_eq!(used, encoded.len(), "stopped off the message end");
        assert!(decoded == body, "body differs (steps {plan:?})");
        assert_eq!(got_trailers, trailers);
    }
});
